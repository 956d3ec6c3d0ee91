/* CPUID and system calls while timer signals (and, with a third argument,
 * a child's stream of signals) stop user code from another host thread: every CPUID answers as the
 * first one did (a stop that lands inside the block made Unicorn 2.1.4
 * skip the instruction's hook and answer with its own model), and every
 * system call is made (the same skip left a SYSCALL's number in RAX). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
#include <errno.h>
#include <sys/wait.h>

static volatile int ticks;
static void on_alarm(int s) { (void)s; ticks++; }

static void cpuid0(unsigned r[4]) {
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(0), "c"(0));
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 200000;
    long calls = argc > 2 ? atol(argv[2]) : 20000;
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, 0);
    sigaction(SIGUSR1, &sa, 0);
    struct itimerval it = {{0, 1000}, {0, 1000}};
    setitimer(ITIMER_REAL, &it, 0);
    /* "storm": a child sends SIGUSR1 every 100 us too (each a stop
     * from the signal helper's thread). */
    pid_t sender = -1;
    if (argc > 3) {
        pid_t parent = getpid();
        sender = fork();
        if (sender == 0) {
            for (;;) {
                if (kill(parent, SIGUSR1))
                    _exit(0);
                usleep(100);
            }
        }
    }
    unsigned first[4], r[4];
    cpuid0(first);
    long odd = 0;
    for (long i = 0; i < n; i++) {
        cpuid0(r);
        odd += r[0] != first[0] || r[1] != first[1] || r[2] != first[2] || r[3] != first[3];
    }
    long bad = 0;
    for (long i = 0; i < calls; i++) {
        /* futex(FUTEX_WAKE_BITSET) reads val3 (the sixth argument): a
         * bitset of 0 is EINVAL, any other wakes nobody and returns 0. */
        static int word;
        long rc = syscall(SYS_futex, &word, 10 /* FUTEX_WAKE_BITSET */ | 128, 1, 0, 0, 0xFFFFFFFF);
        if (rc != 0 && !bad++)
            fprintf(stderr, "call %ld: val3 ~0 gave %ld\n", i, rc);
        rc = syscall(SYS_futex, &word, 10 | 128, 1, 0, 0, 0);
        if (rc != -1 && !bad++)
            fprintf(stderr, "call %ld: val3 0 gave %ld\n", i, rc);
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, 0);
    if (sender > 0) {
        kill(sender, SIGKILL);
        waitpid(sender, 0, 0);
    }
    printf("cpuid differed %ld times, futex val3 lost %ld times, timer fired: %d\n", odd, bad,
           ticks > 0);
    return 0;
}
