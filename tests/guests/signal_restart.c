/* Blocking calls interrupted by timer signals: restart with SA_RESTART,
 * EINTR without, nanosleep's time left, pause, sigsuspend, sigtimedwait,
 * a timer firing during pure computation, and SIGALRM's default action. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int pfd[2];
static volatile int ticks;

static void feed_pipe(int sig) { (void)sig; ticks++; write(pfd[1], "x", 1); }
static void tick(int sig) { (void)sig; ticks++; }

static void handle(int sig, void (*fn)(int), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigaction(sig, &sa, 0);
}

static void arm(long usec, long interval) {
    struct itimerval it = { { 0, interval }, { 0, usec } };
    setitimer(ITIMER_REAL, &it, 0);
}

int main(void) {
    char c;
    pipe(pfd);

    handle(SIGALRM, feed_pipe, SA_RESTART);
    arm(50000, 0);
    ssize_t n = read(pfd[0], &c, 1);
    printf("SA_RESTART read: %zd '%c' ticks %d\n", n, n == 1 ? c : '?', ticks);

    handle(SIGALRM, feed_pipe, 0);
    arm(50000, 0);
    n = read(pfd[0], &c, 1);
    printf("no SA_RESTART read: %zd errno %s, then %zd\n", n, strerror(errno),
           read(pfd[0], &c, 1));

    handle(SIGALRM, tick, 0);
    arm(50000, 0);
    struct timespec req = { 5, 0 }, rem = { 0, 0 };
    int r = nanosleep(&req, &rem);
    printf("nanosleep: %d %s, rem between 4 and 5 s: %d\n", r, strerror(errno),
           rem.tv_sec == 4 && rem.tv_nsec > 0);

    arm(50000, 0);
    r = pause();
    printf("pause: %d %s\n", r, strerror(errno));

    sigset_t block, old, waitmask;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    sigprocmask(SIG_BLOCK, &block, &old);
    arm(50000, 0);
    sigemptyset(&waitmask);
    ticks = 0;
    r = sigsuspend(&waitmask);
    sigset_t now;
    sigprocmask(SIG_SETMASK, 0, &now);
    printf("sigsuspend: %d %s ticks %d, SIGALRM blocked again %d\n", r, strerror(errno),
           ticks, sigismember(&now, SIGALRM));

    sigset_t usr;
    sigemptyset(&usr);
    sigaddset(&usr, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr, 0);
    raise(SIGUSR1);
    siginfo_t si;
    struct timespec zero = { 1, 0 };
    r = sigtimedwait(&usr, &si, &zero);
    printf("sigtimedwait: %d signo %d code %d\n", r, si.si_signo, si.si_code);
    r = sigtimedwait(&usr, &si, &(struct timespec){ 0, 20000000 });
    printf("sigtimedwait timeout: %d %s\n", r, strerror(errno));
    sigprocmask(SIG_SETMASK, &old, 0);

    ticks = 0;
    arm(20000, 20000);
    volatile unsigned long spin = 0;
    while (ticks < 3)
        spin++;
    arm(0, 0);
    printf("interval timer during computation: ticks %d\n", ticks);

    printf("alarm(0) with nothing pending: %u\n", alarm(0));
    alarm(5);
    printf("alarm left: %u\n", alarm(0));

    fflush(stdout);
    signal(SIGALRM, SIG_DFL);
    arm(20000, 0);
    pause();
    return 0;
}
