/* epoll and eventfd: level-triggered readiness of a pipe and an eventfd,
 * the user data word coming back untouched, MOD, DEL and EPOLLET, the
 * errors (EEXIST, ENOENT, EINVAL, EBADF, EFAULT), a
 * timeout, a wait ended by a timer signal (EINTR, whatever SA_RESTART
 * says), epoll_pwait's mask, and eventfd's counter and semaphore mode. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <unistd.h>

#define SHOW(what, call) do { errno = 0; long r_ = (long)(call); \
    printf("%-34s = %ld %s\n", what, r_, r_ < 0 ? strerror(errno) : ""); } while (0)

static volatile int alarms;
static void on_alarm(int s) { (void)s; alarms++; }

static void arm(int ms) {
    struct itimerval it = {{0, 0}, {0, ms * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int p[2];
    pipe(p);
    int ev = eventfd(0, EFD_CLOEXEC);
    struct epoll_event e = {0}, out[8];
    e.events = EPOLLIN;
    e.data.u64 = 0x1122334455667788ULL;
    SHOW("add the pipe", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e));
    SHOW("add it again", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e));
    e.data.u64 = 42;
    SHOW("add the eventfd", epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e));
    SHOW("mod an fd not there", epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &e));
    SHOW("add a bad fd", epoll_ctl(ep, EPOLL_CTL_ADD, 99, &e));
    SHOW("add itself", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &e));
    SHOW("ctl on a non-epoll fd", epoll_ctl(p[0], EPOLL_CTL_ADD, ev, &e));
    SHOW("wait, nothing ready, 30 ms", epoll_wait(ep, out, 8, 30));
    SHOW("wait maxevents 0", epoll_wait(ep, out, 0, 0));
    SHOW("wait bad buffer", epoll_wait(ep, (struct epoll_event *)8, 8, 0));
    write(p[1], "x", 1);
    SHOW("wait, the pipe ready", epoll_wait(ep, out, 8, -1));
    printf("  events %#x data %#llx\n", out[0].events, (unsigned long long)out[0].data.u64);
    SHOW("level-triggered: again", epoll_wait(ep, out, 8, 0));
    uint64_t v = 3;
    write(ev, &v, sizeof v);
    SHOW("both ready", epoll_wait(ep, out, 8, 0));
    e.events = EPOLLIN | EPOLLET;
    e.data.u64 = 7;
    SHOW("mod the pipe to edge", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e));
    SHOW("edge: first wait", epoll_wait(ep, out, 1, 0));
    printf("  data %llu\n", (unsigned long long)out[0].data.u64);
    SHOW("del the eventfd", epoll_ctl(ep, EPOLL_CTL_DEL, ev, NULL));
    SHOW("edge: nothing new", epoll_wait(ep, out, 8, 0));
    write(p[1], "y", 1);
    SHOW("edge: new data", epoll_wait(ep, out, 8, 0));

    /* eventfd: the counter, then semaphore mode, then EAGAIN. */
    SHOW("eventfd read", read(ev, &v, sizeof v));
    printf("  value %llu\n", (unsigned long long)v);
    int sem = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    SHOW("semaphore read", read(sem, &v, sizeof v));
    printf("  value %llu\n", (unsigned long long)v);
    read(sem, &v, sizeof v);
    SHOW("semaphore empty", read(sem, &v, sizeof v));
    SHOW("short read", read(sem, &v, 4));
    SHOW("eventfd bad flags", eventfd(0, 0x10));

    /* A timer ends a wait: EINTR, with or without SA_RESTART. */
    char c[8];
    read(p[0], c, sizeof c);
    e.events = EPOLLIN;
    epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    arm(50);
    SHOW("wait interrupted (SA_RESTART)", epoll_wait(ep, out, 8, -1));
    printf("  alarms %d\n", alarms);
    sigset_t block, empty, now;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &block, NULL);
    arm(30);
    SHOW("pwait unblocking SIGALRM", epoll_pwait(ep, out, 8, 2000, &empty));
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("  alarms %d, blocked again %d\n", alarms, sigismember(&now, SIGALRM));
    return 0;
}
