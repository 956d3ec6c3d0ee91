/* A fast interval timer firing while the program makes system calls and
 * vDSO calls as fast as it can: every crossing and every delivery must
 * leave the registers intact (a regression test for stopping the CPU at
 * arbitrary points). */
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile int ticks;
static void tick(int sig) { (void)sig; ticks++; }

int main(void) {
    struct sigaction sa = { 0 };
    sa.sa_handler = tick;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, 0);
    struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
    setitimer(ITIMER_REAL, &it, 0);
    long pids = 0, sum = 0;
    struct timespec ts;
    while (ticks < 60) {
        pids += getpid() > 0;
        pids += syscall(SYS_getppid) > 0;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        sum += ts.tv_nsec >= 0;
    }
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, 0);
    printf("survived %d ticks, every call answered: %d\n", ticks >= 60, pids == 2 * sum);
    return 0;
}
