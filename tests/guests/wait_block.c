/* Blocks in one system call (argv[1]) until a signal ends it. With argv[2]
 * "h", a handler (without SA_RESTART) is installed for SIGTERM, SIGINT and
 * SIGHUP, and the call's answer is printed. "ready" is printed just before
 * the call. argv[3]: a path (FIFOs). Other modes: "partial" writes 1 MiB
 * into a pipe nobody drains with an alarm pending; "fifo" shows open,
 * truncate and execve of a FIFO that has no other end. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#define FUTEX_WAIT_PRIVATE 128     /* <linux/futex.h>, which musl-gcc lacks */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t caught;
static void on_sig(int s) { caught = s; }

static void ready(void) {
    write(1, "ready\n", 6);
}

static void report(const char *what, long r) {
    printf("%s: %ld %s caught %d\n", what, r, r < 0 ? strerror(errno) : "", (int)caught);
}

static char big[1 << 20];

static void soon(void) {        /* SIGALRM in 200 ms */
    struct itimerval it = { { 0, 0 }, { 0, 200000 } };
    setitimer(ITIMER_REAL, &it, 0);
}

static long block(const char *mode, const char *path) {
    int p[2];
    if (pipe(p))
        return -2;
    char c;
    if (!strcmp(mode, "read")) {
        ready();
        return read(p[0], &c, 1);
    }
    if (!strcmp(mode, "readv")) {
        struct iovec v[2] = { { &c, 1 }, { &c, 1 } };
        ready();
        return readv(p[0], v, 2);
    }
    if (!strcmp(mode, "stdin")) {
        ready();
        return read(0, big, sizeof big);
    }
    if (!strcmp(mode, "write")) {
        fcntl(p[1], F_SETFL, O_NONBLOCK);
        while (write(p[1], big, 4096) > 0)
            ;
        fcntl(p[1], F_SETFL, 0);
        ready();
        return write(p[1], big, 4096);
    }
    if (!strcmp(mode, "writev")) {
        fcntl(p[1], F_SETFL, O_NONBLOCK);
        while (write(p[1], big, 4096) > 0)
            ;
        fcntl(p[1], F_SETFL, 0);
        struct iovec v[2] = { { big, 10 }, { big, 10 } };
        ready();
        return writev(p[1], v, 2);
    }
    if (!strcmp(mode, "fifo_r")) {
        ready();
        return open(path, O_RDONLY);
    }
    if (!strcmp(mode, "fifo_w")) {
        ready();
        return open(path, O_WRONLY);
    }
    if (!strcmp(mode, "wait4") || !strcmp(mode, "waitid")) {
        pid_t parent = getpid(), pid = fork();
        if (pid == 0) {
            close(1);                   /* the test reads to the end of them */
            close(2);
            signal(SIGTERM, SIG_IGN);   /* the test signals this pid only */
            signal(SIGINT, SIG_IGN);
            signal(SIGHUP, SIG_IGN);
            for (int i = 0; i < 300 && getppid() == parent; i++)
                usleep(100000);         /* until the parent is gone */
            _exit(0);
        }
        ready();
        if (mode[4] == '4')
            return wait4(pid, 0, 0, 0);
        siginfo_t si;
        return waitid(P_PID, pid, &si, WEXITED);
    }
    if (!strcmp(mode, "nanosleep")) {
        struct timespec ts = { 100, 0 };
        ready();
        return nanosleep(&ts, 0);
    }
    if (!strcmp(mode, "futex")) {
        static int word;
        ready();
        return syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, 0, 0, 0);
    }
    if (!strcmp(mode, "poll")) {
        struct pollfd pf = { p[0], POLLIN, 0 };
        ready();
        return poll(&pf, 1, -1);
    }
    if (!strcmp(mode, "select")) {
        fd_set r;
        FD_ZERO(&r);
        FD_SET(p[0], &r);
        ready();
        return select(p[0] + 1, &r, 0, 0, 0);
    }
    if (!strcmp(mode, "epoll")) {
        int ep = epoll_create1(0);
        struct epoll_event ev = { EPOLLIN, { 0 } };
        epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
        ready();
        return epoll_wait(ep, &ev, 1, -1);
    }
    if (!strcmp(mode, "pause")) {
        ready();
        return pause();
    }
    if (!strcmp(mode, "recv") || !strcmp(mode, "sockread")) {
        int s[2];
        socketpair(AF_UNIX, SOCK_STREAM, 0, s);
        ready();
        return mode[0] == 'r' ? recv(s[0], &c, 1, 0) : read(s[0], &c, 1);
    }
    if (!strcmp(mode, "accept")) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr sa = { AF_UNIX, { 0 } };
        bind(s, &sa, sizeof(sa_family_t));     /* autobind: an abstract name */
        listen(s, 1);
        ready();
        return accept(s, 0, 0);
    }
    return -2;
}

static void partial(void) {
    int p[2];
    pipe(p);
    signal(SIGALRM, on_sig);
    siginterrupt(SIGALRM, 1);
    soon();
    long r = write(p[1], big, sizeof big);
    report("write 1 MiB", r);
}

static void fifo(const char *path) {
    /* No other end is open: truncate, execve, the blocking opens. */
    report("truncate", truncate(path, 0));
    char *argv[] = { (char *)path, 0 };
    report("execve", execve(path, argv, argv + 1));
    signal(SIGALRM, on_sig);
    siginterrupt(SIGALRM, 1);
    soon();
    report("open O_RDONLY with an alarm", open(path, O_RDONLY));
    caught = 0;
    soon();
    report("open O_WRONLY with an alarm", open(path, O_WRONLY));
    caught = 0;
    report("open O_WRONLY|O_NONBLOCK", open(path, O_WRONLY | O_NONBLOCK));
    int r = open(path, O_RDONLY | O_NONBLOCK);
    report("open O_RDONLY|O_NONBLOCK", r);
    report("open O_WRONLY (a reader now)", open(path, O_WRONLY));
    report("truncate (both ends open)", truncate(path, 0));
    int rw = open(path, O_RDWR);
    report("open O_RDWR", rw);
    caught = 0;
    soon();
    report("write 1 MiB into the FIFO", write(rw, big, sizeof big));
}

static void sock_timeouts(void) {
    int s[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    struct timeval tv = { 0, 200000 };
    setsockopt(s[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(s[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char c;
    report("read with SO_RCVTIMEO", read(s[0], &c, 1));
    long r = write(s[0], big, sizeof big);       /* what fits, then the timeout */
    report("write with SO_SNDTIMEO wrote some", r > 0 && r < (long)sizeof big);
    report("write with SO_SNDTIMEO, full", write(s[0], big, sizeof big));
}

static void tty_timer(void) {
    signal(SIGALRM, on_sig);
    siginterrupt(SIGALRM, 1);
    soon();
    report("read a tty with a timer", read(0, big, 10));
}

int main(int argc, char **argv) {
    setvbuf(stdout, 0, _IONBF, 0);
    if (argc > 1 && !strcmp(argv[1], "partial")) {
        partial();
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "sock_timeouts")) {
        sock_timeouts();
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "tty_timer")) {
        tty_timer();
        return 0;
    }
    if (argc > 2 && !strcmp(argv[1], "fifo")) {
        fifo(argv[2]);
        return 0;
    }
    if (argc > 2 && argv[2][0] == 'h') {
        struct sigaction sa = { 0 };
        sa.sa_handler = on_sig;         /* no SA_RESTART: EINTR */
        sigaction(SIGTERM, &sa, 0);
        sigaction(SIGINT, &sa, 0);
        sigaction(SIGHUP, &sa, 0);
    }
    long r = block(argc > 1 ? argv[1] : "read", argc > 3 ? argv[3] : "");
    report(argc > 1 ? argv[1] : "read", r);
    return 0;
}
