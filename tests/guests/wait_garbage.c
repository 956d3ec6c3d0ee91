/* The time and wait calls with garbage arguments: every answer printed,
 * to be compared with the native run (no call may crash sysgate). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/timerfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void show(const char *what, long r) {
    printf("%-34s %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
    fflush(stdout);
}

static void on_alarm(int s) { (void)s; }

/* A timespec/timeval in the ABI's own words (long is 4 bytes on i386). */
struct kts { long sec, nsec; };

int main(void) {
    struct sigaction sa = { 0 };
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, 0);
    siginfo_t si;
    int st;
    long ids[] = { -1, 0, 0x7fffffff, (long)0x80000000u, 12345678 };
    int types[] = { P_ALL, P_PID, P_PGID, 3, 4, -1, 99 };
    for (unsigned i = 0; i < sizeof types / sizeof *types; i++)
        for (unsigned j = 0; j < sizeof ids / sizeof *ids; j++) {
            char b[64];
            snprintf(b, sizeof b, "waitid(%d, %ld)", types[i], ids[j]);
            show(b, syscall(SYS_waitid, types[i], ids[j], &si, WEXITED | WNOHANG, 0));
        }
    show("waitid bad options", syscall(SYS_waitid, P_ALL, 0, &si, 0, 0));
    show("waitid all options", syscall(SYS_waitid, P_ALL, 0, &si, -1, 0));
    show("waitid bad infop", syscall(SYS_waitid, P_ALL, 0, (void *)1, WEXITED | WNOHANG, 0));
    long pids[] = { -1, 0, (long)INT_MIN, INT_MAX, -INT_MAX, 1 };
    for (unsigned j = 0; j < sizeof pids / sizeof *pids; j++) {
        char b[64];
        snprintf(b, sizeof b, "wait4(%ld)", pids[j]);
        show(b, syscall(SYS_wait4, pids[j], &st, WNOHANG, 0));
    }
    show("wait4 bad options", syscall(SYS_wait4, -1, &st, 0x10, 0));
    show("wait4 all options", syscall(SYS_wait4, -1, &st, -1, 0));
    show("wait4 bad status", syscall(SYS_wait4, -1, (void *)1, WNOHANG, 0));

    /* timeouts at the extremes; each call returns at once (a ready fd or
     * an error) or is cut by a 50 ms itimer. */
    int p[2];
    pipe(p);
    struct pollfd pf = { p[1], POLLOUT, 0 };
    int tms[] = { -1, INT_MIN, INT_MAX, 0 };
    for (unsigned j = 0; j < 4; j++) {
        char b[64];
        snprintf(b, sizeof b, "poll(ready, %d)", tms[j]);
        show(b, syscall(SYS_poll, &pf, 1, tms[j]));
    }
    long secs[] = { -1, 0, LONG_MAX, LONG_MIN, 1 };
    long nsecs[] = { -1, 0, 999999999, 1000000000, LONG_MAX };
    for (unsigned a = 0; a < 5; a++)
        for (unsigned b = 0; b < 5; b++) {
            struct kts ts = { secs[a], nsecs[b] };
            char m[80];
            snprintf(m, sizeof m, "ppoll(ready, %ld.%ld)", secs[a], nsecs[b]);
            show(m, syscall(SYS_ppoll, &pf, 1, &ts, 0, 8));
            fd_set w;
            FD_ZERO(&w);
            FD_SET(p[1], &w);
            struct kts ts2 = { secs[a], nsecs[b] };
            snprintf(m, sizeof m, "pselect6(ready, %ld.%ld)", secs[a], nsecs[b]);
            show(m, syscall(SYS_pselect6, p[1] + 1, 0, &w, 0, &ts2, 0));
#if defined(SYS__newselect) || defined(SYS_select)
#ifdef SYS__newselect
#define NR_SELECT SYS__newselect      /* i386's SYS_select is old_select */
#else
#define NR_SELECT SYS_select
#endif
            FD_ZERO(&w);
            FD_SET(p[1], &w);
            struct kts tv = { secs[a], nsecs[b] };
            snprintf(m, sizeof m, "select(ready, %ld.%ld)", secs[a], nsecs[b]);
            show(m, syscall(NR_SELECT, p[1] + 1, 0, &w, 0, &tv));
#endif
        }
    /* Not ready: only the timeout or an error ends them; a 30 ms alarm
     * cuts the long ones. */
    struct pollfd pr = { p[0], POLLIN, 0 };
    struct itimerval cut = { { 0, 0 }, { 0, 30000 } };
    for (unsigned a = 0; a < 5; a++)
        for (unsigned b = 0; b < 5; b++) {
            struct kts ts = { secs[a], nsecs[b] };
            char m[80];
            setitimer(ITIMER_REAL, &cut, 0);
            snprintf(m, sizeof m, "ppoll(idle, %ld.%ld)", secs[a], nsecs[b]);
            show(m, syscall(SYS_ppoll, &pr, 1, &ts, 0, 8));
            setitimer(ITIMER_REAL, &cut, 0);
            snprintf(m, sizeof m, "nanosleep(%ld.%ld)", secs[a], nsecs[b]);
            show(m, syscall(SYS_nanosleep, &ts, 0));
            setitimer(ITIMER_REAL, &cut, 0);
            snprintf(m, sizeof m, "clock_nanosleep(%ld.%ld)", secs[a], nsecs[b]);
            long r = syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, 0);
            errno = r > 0 ? r : errno;
            show(m, r > 0 ? -1 : r);
            setitimer(ITIMER_REAL, &cut, 0);
            snprintf(m, sizeof m, "clock_nanosleep abs(%ld.%ld)", secs[a], nsecs[b]);
            r = syscall(SYS_clock_nanosleep, CLOCK_REALTIME, TIMER_ABSTIME, &ts, 0);
            show(m, r);
            setitimer(ITIMER_REAL, &cut, 0);
            snprintf(m, sizeof m, "poll(idle) %ld", secs[a]);
            show(m, syscall(SYS_poll, &pr, 1, (int)secs[a]));
            struct itimerval off = { 0 };
            setitimer(ITIMER_REAL, &off, 0);
        }
    /* alarm and setitimer at the extremes: what they answer and what is
     * left armed. */
    unsigned al[] = { UINT_MAX, 0x80000000u, INT_MAX, 1, 0 };
    for (unsigned j = 0; j < 5; j++) {
        char m[64];
        snprintf(m, sizeof m, "alarm(%u)", al[j]);
        show(m, syscall(SYS_alarm, al[j]));
        struct itimerval cur;
        getitimer(ITIMER_REAL, &cur);
        printf("  armed %d\n", cur.it_value.tv_sec > 0 || cur.it_value.tv_usec > 0);
    }
    show("alarm(0) again", syscall(SYS_alarm, 0));
    for (unsigned a = 0; a < 5; a++)
        for (unsigned b = 0; b < 5; b++) {
            struct kts v[2] = { { secs[a], nsecs[b] }, { secs[a], nsecs[b] } };
            struct kts o[2];
            char m[80];
            snprintf(m, sizeof m, "setitimer(%ld.%ld)", secs[a], nsecs[b]);
            show(m, syscall(SYS_setitimer, ITIMER_REAL, v, o));
            struct kts off[2] = { { 0, 0 }, { 0, 0 } };
            syscall(SYS_setitimer, ITIMER_REAL, off, 0);
            timer_t tid;
            struct sigevent ev = { 0 };
            ev.sigev_notify = SIGEV_NONE;
            if (syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &tid))
                show("timer_create(SIGEV_NONE)", -1);
            snprintf(m, sizeof m, "timer_settime(%ld.%ld)", secs[a], nsecs[b]);
            show(m, syscall(SYS_timer_settime, tid, 0, v, o));
            snprintf(m, sizeof m, "timer_settime abs(%ld.%ld)", secs[a], nsecs[b]);
            show(m, syscall(SYS_timer_settime, tid, TIMER_ABSTIME, v, o));
            syscall(SYS_timer_delete, tid);
        }
    /* epoll_wait's int timeout and epoll_pwait2's timespec, a ready fd */
    int ep = epoll_create1(0);
    struct epoll_event ev = { EPOLLOUT, { 0 } }, got;
    epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev);
    for (unsigned j = 0; j < 4; j++) {
        char m[64];
        snprintf(m, sizeof m, "epoll_wait(ready, %d)", tms[j]);
        show(m, syscall(SYS_epoll_pwait, ep, &got, 1, tms[j], 0, 8));
    }
#ifdef SYS_epoll_pwait2
    for (unsigned a = 0; a < 5; a++)
        for (unsigned b = 0; b < 5; b++) {
            long long ts[2] = { secs[a], nsecs[b] };     /* a __kernel_timespec */
            char m[80];
            snprintf(m, sizeof m, "epoll_pwait2(ready, %ld.%ld)", secs[a], nsecs[b]);
            show(m, syscall(SYS_epoll_pwait2, ep, &got, 1, ts, 0, 8));
        }
#endif
    /* timerfd_settime: huge, negative, out-of-range values */
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    for (unsigned a = 0; a < 5; a++)
        for (unsigned b = 0; b < 5; b++) {
            struct kts v[2] = { { secs[a], nsecs[b] }, { secs[a], nsecs[b] } };
            struct kts o[2];
            char m[80];
            snprintf(m, sizeof m, "timerfd_settime(%ld.%ld)", secs[a], nsecs[b]);
            show(m, syscall(SYS_timerfd_settime, tfd, 0, v, o));
            snprintf(m, sizeof m, "timerfd_settime abs(%ld.%ld)", secs[a], nsecs[b]);
            show(m, syscall(SYS_timerfd_settime, tfd, TFD_TIMER_ABSTIME, v, o));
        }
    show("timerfd_settime(bad flags)", syscall(SYS_timerfd_settime, tfd, 0x100, 0, 0));
    show("setitimer(which 7)", syscall(SYS_setitimer, 7, 0, 0));
    show("setitimer(virtual)", syscall(SYS_setitimer, ITIMER_VIRTUAL, 0, 0));
    show("getitimer(which -1)", syscall(SYS_getitimer, -1, 0));
    show("setitimer(NULL new)", syscall(SYS_setitimer, ITIMER_REAL, 0, 0));
    show("setitimer(bad ptr)", syscall(SYS_setitimer, ITIMER_REAL, (void *)1, 0));
    return 0;
}
