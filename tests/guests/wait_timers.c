/* Timers that must fire while nothing else happens: a forked child's alarm
 * while it computes without system calls; an interval timer far faster
 * than a signal can be handled (a timer storm) must leave the program
 * making progress. argv[1]: "child", or "storm USEC LOOPS". */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t ticks;
static void tick(int sig) { (void)sig; ticks++; }

static int child_alarm(void) {
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGALRM, SIG_DFL);
        alarm(1);
        volatile unsigned long n = 0;
        for (;;)
            n++;            /* no system call: only the timer ends this */
    }
    int st;
    waitpid(pid, &st, 0);
    printf("child killed by signal %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
    return 0;
}

static int storm(long usec, long loops) {
    struct sigaction sa = { 0 };
    sa.sa_handler = tick;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, 0);
    struct itimerval it = { { 0, usec }, { 0, usec } };
    setitimer(ITIMER_REAL, &it, 0);
    volatile unsigned long n = 0;
    for (long i = 0; i < loops; i++)
        n += i;         /* progress, with a signal storm around it */
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, 0);
    printf("storm done: %d\n", ticks > 0 && n == (unsigned long)loops * (loops - 1) / 2);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "child"))
        return child_alarm();
    if (argc > 3 && !strcmp(argv[1], "storm"))
        return storm(atol(argv[2]), atol(argv[3]));
    return 2;
}
