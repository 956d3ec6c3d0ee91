/* futex waits in one thread: the value check, the timeout, and
 * interruption by a timer signal with and without SA_RESTART. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* From linux/futex.h, which musl-gcc cannot see. */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129
#define FUTEX_WAKE_OP_PRIVATE 133
#define FUTEX_WAIT_BITSET_PRIVATE 137
#define FUTEX_BITSET_MATCH_ANY 0xffffffff
#define FUTEX_OP_ADD 1
#define FUTEX_OP_CMP_EQ 0
#define FUTEX_OP(op, oparg, cmp, cmparg) \
    ((((op) & 0xf) << 28) | (((cmp) & 0xf) << 24) | (((oparg) & 0xfff) << 12) | ((cmparg) & 0xfff))

static volatile uint32_t word;
static volatile int fired;

static void on_alarm(int sig) { (void)sig; fired++; word = 1; }

static long futex(volatile uint32_t *a, int op, uint32_t v, const struct timespec *ts,
                  uint32_t v3)
{
    return syscall(SYS_futex, a, op, v, ts, 0, v3);
}

static void report(const char *what, long r)
{
    printf("%s: %ld %s, handler ran %d\n", what, r, r < 0 ? strerror(errno) : "", fired);
}

static void arm(int flags)
{
    struct sigaction sa = { 0 };
    sa.sa_handler = on_alarm;
    sa.sa_flags = flags;
    sigaction(SIGALRM, &sa, 0);
    struct itimerval it = { { 0, 0 }, { 0, 30000 } };
    word = 0;
    fired = 0;
    setitimer(ITIMER_REAL, &it, 0);
}

int main(void)
{
    word = 5;
    report("value differs", futex(&word, FUTEX_WAIT_PRIVATE, 4, 0, 0));
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    report("timeout", futex(&word, FUTEX_WAIT_PRIVATE, 5, &ts, 0));
    report("wake nobody", futex(&word, FUTEX_WAKE_PRIVATE, 1, 0, 0));
    report("bad bitset", futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 5, 0, 0));
    report("unaligned", futex((uint32_t *)((char *)&word + 1), FUTEX_WAIT_PRIVATE, 0, 0, 0));
    report("bad address", futex((uint32_t *)16, FUTEX_WAIT_PRIVATE, 0, 0, 0));

    /* Restarted after the handler changed the word: the value check fails. */
    arm(SA_RESTART);
    report("SA_RESTART", futex(&word, FUTEX_WAIT_PRIVATE, 0, 0, 0));
    arm(0);
    report("no SA_RESTART", futex(&word, FUTEX_WAIT_PRIVATE, 0, 0, 0));
    /* With a timeout the wait is not restarted after a handler. */
    arm(SA_RESTART);
    struct timespec longer = { 5, 0 };
    report("timeout + SA_RESTART", futex(&word, FUTEX_WAIT_PRIVATE, 0, &longer, 0));
    /* An absolute CLOCK_MONOTONIC deadline (FUTEX_WAIT_BITSET). */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    now.tv_nsec += 20 * 1000 * 1000;
    if (now.tv_nsec >= 1000000000) {
        now.tv_sec++;
        now.tv_nsec -= 1000000000;
    }
    word = 7;
    report("absolute deadline",
           futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 7, &now, FUTEX_BITSET_MATCH_ANY));
    uint32_t w2 = 3;
    report("wake_op", syscall(SYS_futex, &word, FUTEX_WAKE_OP_PRIVATE, 1, 1, &w2,
                              FUTEX_OP(FUTEX_OP_ADD, 4, FUTEX_OP_CMP_EQ, 0)));
    printf("w2 after wake_op: %u\n", w2);
    return 0;
}
