/* FUTEX_WAIT_REQUEUE_PI and FUTEX_CMP_REQUEUE_PI issued raw between
   threads: a waiter on a plain word moved onto a PI word returns owning it
   (taken at once when free, handed over by UNLOCK_PI when held); the plain
   calls refuse requeue-PI waiters and the requeue-PI call refuses plain
   ones; timeouts and signals before and after the requeue; garbage
   arguments. Prints each result with its errno. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_LOCK_PI 6
#define FUTEX_UNLOCK_PI 7
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_CMP_REQUEUE_PI 12
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_WAITERS 0x80000000u

static uint32_t cond, mutex, other;
static volatile int started, done, handled;
static volatile long result, result_err, owned;
static long wait_op = FUTEX_WAIT_REQUEUE_PI | FUTEX_PRIVATE_FLAG;
static const struct timespec *wait_timeout;
static uint32_t *wait_target = &mutex;

static long futex(void *uaddr, int op, uint32_t val, const void *timeout,
                  void *uaddr2, uint32_t val3) {
    return syscall(SYS_futex, uaddr, op, val, timeout, uaddr2, val3);
}

static void show(const char *what, long r) {
    printf("%-44s %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

static long tid(void) { return syscall(SYS_gettid); }

static void *waiter(void *arg) {
    started = 1;
    long r = futex(&cond, wait_op, 0, wait_timeout, wait_target, 0xFFFFFFFF);
    result_err = r < 0 ? errno : 0;
    owned = r == 0 && (mutex & 0x3FFFFFFF) == (uint32_t)tid();
    result = r;
    if (owned)
        futex(&mutex, FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG, 0, 0, 0, 0);
    done = 1;
    return 0;
}

static void report(const char *what) {
    printf("%-44s %ld %s owned %ld\n", what, result,
           result < 0 ? strerror((int)result_err) : "", owned);
}

static pthread_t spawn(void) {
    pthread_t th;
    started = done = 0;
    pthread_create(&th, 0, waiter, 0);
    while (!started)
        usleep(1000);
    return th;
}

/* Requeue until the waiter was found queued (or has ended). */
static long requeue_pi(int nr_requeue, uint32_t *to) {
    long r;
    while ((r = futex(&cond, FUTEX_CMP_REQUEUE_PI | FUTEX_PRIVATE_FLAG, 1,
                      (void *)(long)nr_requeue, to, 0)) == 0 && !done)
        usleep(1000);
    return r;
}

static void on_usr1(int sig) { handled++; }

static void *counter_waiter(void *arg) {
    long *count = arg;
    __sync_fetch_and_add(&started, 1);
    if (futex(&cond, FUTEX_WAIT_REQUEUE_PI | FUTEX_PRIVATE_FLAG, 0, 0, &mutex,
              0xFFFFFFFF) == 0 && (mutex & 0x3FFFFFFF) == (uint32_t)tid()) {
        (*count)++;
        futex(&mutex, FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG, 0, 0, 0, 0);
    }
    return 0;
}

int main(void) {
    pthread_t th;
    struct timespec past = {0, 0}, bad = {0, 2000000000};
    setvbuf(stdout, 0, _IOLBF, 0);

    /* Garbage, with this thread alone. */
    show("wait: same futex", futex(&cond, FUTEX_WAIT_REQUEUE_PI, 0, 0, &cond, ~0u));
    show("wait: bitset 0 ignored, value differs",
         futex(&cond, FUTEX_WAIT_REQUEUE_PI, 1, 0, &mutex, 0));
    show("wait: value differs", futex(&cond, FUTEX_WAIT_REQUEUE_PI, 7, 0, &mutex, ~0u));
    show("wait: uaddr2 misaligned", futex(&cond, FUTEX_WAIT_REQUEUE_PI, 0, 0,
                                          (char *)&mutex + 1, ~0u));
    show("wait: uaddr misaligned", futex((char *)&cond + 2, FUTEX_WAIT_REQUEUE_PI, 0, 0,
                                         &mutex, ~0u));
    show("wait: uaddr unmapped", futex((void *)16, FUTEX_WAIT_REQUEUE_PI, 0, 0, &mutex, ~0u));
    show("wait: timeout unmapped", futex(&cond, FUTEX_WAIT_REQUEUE_PI, 0, (void *)16,
                                         &mutex, ~0u));
    show("wait: timeout nsec 2e9", futex(&cond, FUTEX_WAIT_REQUEUE_PI, 0, &bad, &mutex, ~0u));
    show("wait: deadline passed", futex(&cond, FUTEX_WAIT_REQUEUE_PI, 0, &past, &mutex, ~0u));
    show("wait: deadline passed, realtime",
         futex(&cond, FUTEX_WAIT_REQUEUE_PI | FUTEX_CLOCK_REALTIME, 0, &past, &mutex, ~0u));
    show("requeue: nr_wake 2", futex(&cond, FUTEX_CMP_REQUEUE_PI, 2, 0, &mutex, 0));
    show("requeue: nr_wake 0", futex(&cond, FUTEX_CMP_REQUEUE_PI, 0, 0, &mutex, 0));
    show("requeue: nr_requeue -1", futex(&cond, FUTEX_CMP_REQUEUE_PI, 1, (void *)-1L,
                                         &mutex, 0));
    show("requeue: same futex", futex(&cond, FUTEX_CMP_REQUEUE_PI, 1, 0, &cond, 0));
    show("requeue: value differs", futex(&cond, FUTEX_CMP_REQUEUE_PI, 1, 0, &mutex, 9));
    show("requeue: nobody waits", futex(&cond, FUTEX_CMP_REQUEUE_PI, 1, 0, &mutex, 0));
    show("requeue: uaddr unmapped", futex((void *)16, FUTEX_CMP_REQUEUE_PI, 1, 0, &mutex, 0));
    show("requeue: uaddr2 unmapped", futex(&cond, FUTEX_CMP_REQUEUE_PI, 1, 0, (void *)16, 0));
    show("requeue: uaddr2 misaligned", futex(&cond, FUTEX_CMP_REQUEUE_PI, 1, 0,
                                             (char *)&mutex + 2, 0));
    show("requeue: CLOCK_REALTIME", futex(&cond, FUTEX_CMP_REQUEUE_PI | FUTEX_CLOCK_REALTIME,
                                          1, 0, &mutex, 0));
    printf("mutex after garbage %#x\n", mutex);

    /* The PI futex free: the requeue takes it for the waiter. */
    th = spawn();
    show("requeue onto a free mutex", requeue_pi(0, &mutex));
    pthread_join(th, 0);
    report("waiter");
    printf("mutex %#x\n", mutex);

    /* Held: the waiter is requeued, the unlock hands the mutex over. */
    futex(&mutex, FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG, 0, 0, 0, 0);
    th = spawn();
    show("requeue onto a held mutex", requeue_pi(1, &mutex));
    printf("waiters bit %d\n", !!(mutex & FUTEX_WAITERS));
    usleep(20000);
    printf("waiter still blocked %d\n", !done);
    show("unlock", futex(&mutex, FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG, 0, 0, 0, 0));
    pthread_join(th, 0);
    report("waiter");
    printf("mutex %#x\n", mutex);

    /* Plain calls meet a requeue-PI waiter; a requeue to another word. */
    th = spawn();
    usleep(30000);
    long r;
    while ((r = futex(&cond, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, 0, 0, 0)) == 0)
        usleep(1000);
    show("plain wake of a requeue-PI waiter", r);
    show("plain requeue of a requeue-PI waiter",
         futex(&cond, FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG, 0, (void *)1L, &other, 0));
    show("requeue-PI to another word",
         futex(&cond, FUTEX_CMP_REQUEUE_PI | FUTEX_PRIVATE_FLAG, 1, 0, &other, 0));
    show("requeue onto a free mutex", requeue_pi(0, &mutex));
    pthread_join(th, 0);
    report("waiter");

    /* A plain waiter met by the requeue-PI call. */
    wait_op = FUTEX_WAIT | FUTEX_PRIVATE_FLAG;
    th = spawn();
    while ((r = futex(&cond, FUTEX_CMP_REQUEUE_PI | FUTEX_PRIVATE_FLAG, 1, 0, &mutex, 0)) == 0)
        usleep(1000);
    show("requeue-PI of a plain waiter", r);
    while (futex(&cond, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, 0, 0, 0) == 0)
        usleep(1000);
    pthread_join(th, 0);
    report("plain waiter");
    wait_op = FUTEX_WAIT_REQUEUE_PI | FUTEX_PRIVATE_FLAG;

    /* Timeouts: before the requeue, and after it (the mutex stays held). */
    struct timespec soon;
    clock_gettime(CLOCK_MONOTONIC, &soon);
    soon.tv_nsec += 50000000;
    if (soon.tv_nsec >= 1000000000) { soon.tv_sec++; soon.tv_nsec -= 1000000000; }
    wait_timeout = &soon;
    th = spawn();
    pthread_join(th, 0);
    report("timeout before a requeue");
    futex(&mutex, FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG, 0, 0, 0, 0);
    clock_gettime(CLOCK_MONOTONIC, &soon);
    soon.tv_sec += 1;
    th = spawn();
    requeue_pi(0, &mutex);
    pthread_join(th, 0);
    report("timeout after a requeue");
    futex(&mutex, FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG, 0, 0, 0, 0);
    wait_timeout = 0;
    printf("mutex %#x\n", mutex);

    /* Signals: before the requeue the wait goes on after the handler;
       after it the call ends with EAGAIN. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, 0);
    th = spawn();
    usleep(30000);
    pthread_kill(th, SIGUSR1);
    usleep(30000);
    printf("handled %d, still waiting %d\n", handled, !done);
    show("requeue onto a free mutex", requeue_pi(0, &mutex));
    pthread_join(th, 0);
    report("waiter after a signal");
    futex(&mutex, FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG, 0, 0, 0, 0);
    th = spawn();
    show("requeue onto a held mutex", requeue_pi(0, &mutex));
    pthread_kill(th, SIGUSR1);
    pthread_join(th, 0);
    report("signal after a requeue");
    printf("handled %d\n", handled);
    futex(&mutex, FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG, 0, 0, 0, 0);

    /* Three waiters requeued onto a held mutex, served one by one. */
    long count = 0, total = 0;
    pthread_t ths[3];
    started = 0;
    futex(&mutex, FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG, 0, 0, 0, 0);
    for (int i = 0; i < 3; i++)
        pthread_create(&ths[i], 0, counter_waiter, &count);
    while (total < 3) {
        r = futex(&cond, FUTEX_CMP_REQUEUE_PI | FUTEX_PRIVATE_FLAG, 1, (void *)(long)INT_MAX,
                  &mutex, 0);
        if (r < 0) {
            show("requeue of three", r);
            break;
        }
        total += r;
        if (total < 3)
            usleep(1000);
    }
    printf("requeued %ld, waiters bit %d\n", total, !!(mutex & FUTEX_WAITERS));
    futex(&mutex, FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG, 0, 0, 0, 0);
    for (int i = 0; i < 3; i++)
        pthread_join(ths[i], 0);
    printf("count %ld mutex %#x\n", count, mutex);
    return 0;
}
