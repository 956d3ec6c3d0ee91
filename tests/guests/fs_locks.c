/* Record locks between two processes: a lock the parent holds blocks the
 * child (F_GETLK names the holder, F_SETLK fails, F_SETLKW waits until the
 * parent unlocks, and a signal ends that wait with EINTR); OFD locks;
 * the i386 64-bit forms. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *what, long r) {
    if (r < 0)
        printf("%s = -1 errno %d\n", what, errno);
    else
        printf("%s = %ld\n", what, r);
    fflush(stdout);
}

static void on_alarm(int s) { (void)s; }

int main(void) {
    char path[] = "/tmp/sysgate-locks-XXXXXX";
    int fd = mkstemp(path);
    write(fd, "0123456789abcdef", 16);
    struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 8};
    show("parent F_SETLK [0,8)", fcntl(fd, F_SETLK, &l));
    int go[2], done[2];
    pipe(go);
    pipe(done);
    pid_t pid = fork();
    if (pid == 0) {
        int c = open(path, O_RDWR);
        struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 4, .l_len = 2};
        show("child F_GETLK", fcntl(c, F_GETLK, &q));
        printf("  type %d start %ld len %ld holder is parent %d\n", q.l_type, (long)q.l_start,
               (long)q.l_len, q.l_pid == getppid());
        q.l_type = F_WRLCK; q.l_start = 4; q.l_len = 2;
        show("child F_SETLK (held)", fcntl(c, F_SETLK, &q));
        q.l_start = 8;
        show("child F_SETLK [8,10) (free)", fcntl(c, F_SETLK, &q));
        /* a wait ended by a signal */
        struct sigaction sa = {.sa_handler = on_alarm};
        sigaction(SIGALRM, &sa, 0);
        alarm(1);
        q.l_start = 0;
        show("child F_SETLKW interrupted", fcntl(c, F_SETLKW, &q));
        /* a wait ended by the parent's unlock */
        write(go[1], "g", 1);
        show("child F_SETLKW until unlocked", fcntl(c, F_SETLKW, &q));
        write(done[1], "d", 1);
        _exit(0);
    }
    char b;
    read(go[0], &b, 1);
    usleep(200000);
    l.l_type = F_UNLCK;
    show("parent unlock", fcntl(fd, F_SETLK, &l));
    read(done[0], &b, 1);
    int st;
    waitpid(pid, &st, 0);
    printf("child status %d\n", WEXITSTATUS(st));

    /* OFD locks conflict between two opens in one process */
    int a = open(path, O_RDWR), c = open(path, O_RDWR);
    struct flock o = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 4};
    show("OFD lock a", fcntl(a, F_OFD_SETLK, &o));
    show("OFD lock c (conflict)", fcntl(c, F_OFD_SETLK, &o));
    o.l_pid = 0;
    show("OFD getlk c", fcntl(c, F_OFD_GETLK, &o));
    printf("  type %d pid %d\n", o.l_type, o.l_pid);
    o.l_pid = 5;
    show("OFD lock with pid set", fcntl(c, F_OFD_SETLK, &o));
    struct flock bad = {.l_type = 9, .l_whence = SEEK_SET};
    show("F_SETLK bad type", fcntl(fd, F_SETLK, &bad));
    show("F_SETLK bad ptr", fcntl(fd, F_SETLK, (void *)8));
    unlink(path);
    return 0;
}
