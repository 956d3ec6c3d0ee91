/* Thread kernels for bench/workloads.py: argv[1] names one, argv[2] is the
 * count. "handoff": two threads pass a token back and forth through futexes
 * (each hand-off wakes the other thread, which was asleep in FUTEX_WAIT).
 * "spawn": create and join one thread at a time. Each prints a checksum. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static _Atomic int turn;
static long rounds;

static void wait_for(int me) {
    while (atomic_load(&turn) != me)
        syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, !me, 0, 0, 0);
}

static void pass_to(int other) {
    atomic_store(&turn, other);
    syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

static void *partner(void *arg) {
    (void)arg;
    for (long i = 0; i < rounds; i++) {
        wait_for(1);
        pass_to(0);
    }
    return 0;
}

static void *child(void *arg) { return (void *)((long)arg + 1); }

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    long n = atol(argv[2]);
    if (!strcmp(argv[1], "handoff")) {
        rounds = n;
        pthread_t t;
        pthread_create(&t, 0, partner, 0);
        for (long i = 0; i < n; i++) {
            pass_to(1);
            wait_for(0);
        }
        pthread_join(t, 0);
        printf("%ld hand-offs\n", 2 * n);
    } else if (!strcmp(argv[1], "spawn")) {
        long sum = 0;
        for (long i = 0; i < n; i++) {
            pthread_t t;
            void *r;
            pthread_create(&t, 0, child, (void *)i);
            pthread_join(t, &r);
            sum += (long)r;
        }
        printf("%ld\n", sum);
    } else {
        return 2;
    }
    return 0;
}
