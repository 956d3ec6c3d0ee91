/* poll, ppoll, select and pselect on pipes: readiness (POLLIN, POLLOUT,
 * POLLHUP, POLLNVAL, ignored negative fds), timeouts and the time left
 * that select writes back, the errors (EINVAL, EBADF, EFAULT), and signals:
 * an interval timer interrupts a wait with EINTR whatever SA_RESTART says;
 * a blocked signal does not; ppoll and pselect unblock it for the wait only.
 * The output holds only what does not depend on timing. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

static volatile int alarms;
static void on_alarm(int s) { (void)s; alarms++; }

static void arm(int ms) {
    struct itimerval it = {{0, 0}, {0, ms * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void handler(int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = flags;
    sigaction(SIGALRM, &sa, NULL);
}

#define SHOW(what, call) do { errno = 0; long r_ = (long)(call); \
    printf("%-34s = %ld %s\n", what, r_, r_ < 0 ? strerror(errno) : ""); } while (0)

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int p[2];
    pipe(p);
    struct pollfd fds[4] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {-1, POLLIN, 0}, {99, POLLIN, 0}};

    /* Readiness. */
    SHOW("poll empty pipe, 30 ms", poll(fds, 1, 30));
    printf("  revents %#x\n", fds[0].revents);
    SHOW("poll all four", poll(fds, 4, 0));
    printf("  revents %#x %#x %#x %#x\n", fds[0].revents, fds[1].revents, fds[2].revents,
           fds[3].revents);
    write(p[1], "x", 1);
    SHOW("poll after a write", poll(fds, 2, -1));
    printf("  revents %#x %#x\n", fds[0].revents, fds[1].revents);
    volatile nfds_t huge = 1 << 30;
    SHOW("poll nfds too big", poll(fds, huge, 0));
    struct pollfd *volatile bad = (struct pollfd *)8;
    SHOW("poll bad pointer", poll(bad, 1, 0));

    /* select: readiness, the time left, errors. */
    fd_set rd, wr, ex;
    FD_ZERO(&rd); FD_ZERO(&wr); FD_ZERO(&ex);
    FD_SET(p[0], &rd); FD_SET(p[1], &wr); FD_SET(p[0], &ex);
    struct timeval tv = {2, 0};
    SHOW("select ready at once", select(p[1] + 1, &rd, &wr, &ex, &tv));
    printf("  rd %d wr %d ex %d, time left: %ld s, some us %d\n", FD_ISSET(p[0], &rd),
           FD_ISSET(p[1], &wr), FD_ISSET(p[0], &ex), (long)tv.tv_sec, tv.tv_usec > 0);
    char c;
    read(p[0], &c, 1);
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    tv.tv_sec = 0;
    tv.tv_usec = 30000;
    SHOW("select times out", select(p[0] + 1, &rd, NULL, NULL, &tv));
    printf("  rd %d, time left %ld.%06ld\n", FD_ISSET(p[0], &rd), (long)tv.tv_sec,
           (long)tv.tv_usec);
    FD_ZERO(&rd);
    FD_SET(40, &rd);
    SHOW("select closed fd", select(41, &rd, NULL, NULL, NULL));
    tv.tv_sec = 0;
    tv.tv_usec = 0;
    SHOW("select negative nfds", select(-1, NULL, NULL, NULL, &tv));
    SHOW("select bad set", select(5, (fd_set *)8, NULL, NULL, &tv));

    /* Hang-up: the writer goes. */
    int q[2];
    pipe(q);
    close(q[1]);
    struct pollfd h = {q[0], POLLIN, 0};
    SHOW("poll after the writer closed", poll(&h, 1, -1));
    printf("  revents %#x\n", h.revents);

    /* Signals: EINTR with and without SA_RESTART. */
    for (int flags = 0; flags <= SA_RESTART; flags += SA_RESTART) {
        handler(flags);
        alarms = 0;
        arm(50);
        SHOW(flags ? "poll, SA_RESTART handler" : "poll, plain handler", poll(fds, 1, -1));
        alarms = 0;
        arm(50);
        FD_ZERO(&rd);
        FD_SET(p[0], &rd);
        SHOW(flags ? "select, SA_RESTART handler" : "select, plain handler",
             select(p[0] + 1, &rd, NULL, NULL, NULL));
        printf("  alarms %d\n", alarms);
    }
    alarms = 0;
    arm(50);
    SHOW("poll with timeout interrupted", poll(fds, 1, 2000));

    /* A blocked signal does not interrupt; ppoll and pselect unblock it. */
    sigset_t block, empty, now;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &block, NULL);
    alarms = 0;
    arm(20);
    SHOW("poll 100 ms, SIGALRM blocked", poll(fds, 1, 100));
    printf("  alarms %d\n", alarms);
    struct timespec ts = {2, 0};
    SHOW("ppoll unblocking it", ppoll(fds, 1, &ts, &empty));
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("  alarms %d, blocked again %d, time left < 2 s %d\n", alarms,
           sigismember(&now, SIGALRM), ts.tv_sec < 2);
    arm(20);
    ts.tv_sec = 2;
    ts.tv_nsec = 0;
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    SHOW("pselect unblocking it", pselect(p[0] + 1, &rd, NULL, NULL, &ts, &empty));
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("  alarms %d, blocked again %d\n", alarms, sigismember(&now, SIGALRM));
    write(p[1], "y", 1);
    SHOW("ppoll ready, mask back", ppoll(fds, 1, NULL, &empty));
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("  blocked again %d\n", sigismember(&now, SIGALRM));
    return 0;
}
