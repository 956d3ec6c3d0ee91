/* The calls a threaded process makes without leaving the CPU (futex wakes,
 * a futex wait whose word differs, getpid, gettid): their answers, errors
 * included, and signals that arrive while a thread makes only such calls
 * (a timer's, another thread's tgkill), delivered in the right thread. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* <linux/futex.h>'s numbers (musl has no kernel headers). */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#define FUTEX_REQUEUE_PRIVATE (FUTEX_REQUEUE | FUTEX_PRIVATE_FLAG)
#define FUTEX_CMP_REQUEUE_PRIVATE (FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_OP_PRIVATE (FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAIT_BITSET_PRIVATE (FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_BITSET_PRIVATE (FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG)
#define FUTEX_OP_ADD 1
#define FUTEX_OP_CMP_EQ 0
#define FUTEX_OP(op, oparg, cmp, cmparg) \
    ((((op) & 0xf) << 28) | (((cmp) & 0xf) << 24) | (((oparg) & 0xfff) << 12) | ((cmparg) & 0xfff))

static uint32_t word = 5, word2 = 7, gate_word;
static volatile sig_atomic_t got_alarm, got_usr1;
static volatile pid_t alarm_tid, usr1_tid;
static pid_t main_tid;

static long fx(void *uaddr, int op, uint32_t val, const struct timespec *ts, void *uaddr2,
               uint32_t val3) {
    long r = syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
    return r < 0 ? -errno : r;
}

static void on_alarm(int sig) {
    (void)sig;
    alarm_tid = syscall(SYS_gettid);
    got_alarm = 1;
}

static void on_usr1(int sig) {
    (void)sig;
    usr1_tid = syscall(SYS_gettid);
    got_usr1 = 1;
}

static void *partner(void *arg) {
    (void)arg;
    /* The timer's signal is the process's: only main may take it. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, 0);
    /* Wait until main spins on gettid, then signal it from here. */
    while (__atomic_load_n(&gate_word, __ATOMIC_SEQ_CST) == 0)
        fx(&gate_word, FUTEX_WAIT_PRIVATE, 0, 0, 0, 0);
    syscall(SYS_tgkill, getpid(), main_tid, SIGUSR1);
    /* Then sleep until main lets this thread go. */
    while (__atomic_load_n(&gate_word, __ATOMIC_SEQ_CST) == 1)
        fx(&gate_word, FUTEX_WAIT_PRIVATE, 1, 0, 0, 0);
    return 0;
}

int main(void) {
    main_tid = syscall(SYS_gettid);
    signal(SIGALRM, on_alarm);
    signal(SIGUSR1, on_usr1);
    pthread_t t;
    pthread_create(&t, 0, partner, 0);

    struct timespec ms = {0, 1000000};
    printf("wait, word differs: %ld\n", fx(&word, FUTEX_WAIT_PRIVATE, 4, 0, 0, 0));
    printf("wait_bitset, word differs: %ld\n",
           fx(&word, FUTEX_WAIT_BITSET_PRIVATE, 4, 0, 0, 1));
    printf("wait, misaligned: %ld\n", fx((char *)&word + 1, FUTEX_WAIT_PRIVATE, 4, 0, 0, 0));
    printf("wait, NULL: %ld\n", fx(0, FUTEX_WAIT_PRIVATE, 0, 0, 0, 0));
    printf("wait, timed out: %ld\n", fx(&word, FUTEX_WAIT_PRIVATE, 5, &ms, 0, 0));
    printf("wait, realtime clock: %ld\n",
           fx(&word, FUTEX_WAIT_PRIVATE | FUTEX_CLOCK_REALTIME, 4, 0, 0, 0));
    printf("wake, nobody: %ld\n", fx(&word, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0));
    printf("wake, count 0: %ld\n", fx(&word, FUTEX_WAKE_PRIVATE, 0, 0, 0, 0));
    printf("wake, NULL: %ld\n", fx(0, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0));
    printf("wake, misaligned: %ld\n", fx((char *)&word + 2, FUTEX_WAKE, 1, 0, 0, 0));
    printf("wake_bitset 0: %ld\n", fx(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, 0, 0, 0));
    printf("wake_op, uaddr2 NULL: %ld\n",
           fx(&word, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, 0, FUTEX_OP(FUTEX_OP_ADD, 1,
                                                                      FUTEX_OP_CMP_EQ, 7)));
    long r = fx(&word, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &word2,
                FUTEX_OP(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_EQ, 7));
    printf("wake_op: %ld, word2 %u\n", r, word2);
    printf("wake_op, uaddr NULL: %ld\n",
           fx(0, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &word2,
              FUTEX_OP(FUTEX_OP_ADD, 0, FUTEX_OP_CMP_EQ, 7)));
    printf("requeue, NULL: %ld\n", fx(0, FUTEX_REQUEUE_PRIVATE, 1, (void *)1, 0, 0));
    printf("cmp_requeue, NULL: %ld\n", fx(0, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &word2, 0));
    printf("cmp_requeue, word differs: %ld\n",
           fx(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &word2, 4));
    printf("cmp_requeue: %ld\n", fx(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &word2, 5));
    printf("getpid is the group's: %d\n", (int)(syscall(SYS_getpid) == getpid()));

    /* A timer's signal while this thread only makes calls that stay on
     * the CPU. */
    struct itimerval it = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, 0);
    long spins = 0;
    while (!got_alarm && spins < 2000000000L) {
        syscall(SYS_gettid);
        spins++;
    }
    printf("alarm handled in this thread: %d\n", got_alarm && alarm_tid == main_tid);

    /* Another thread's tgkill, likewise. */
    __atomic_store_n(&gate_word, 1, __ATOMIC_SEQ_CST);
    fx(&gate_word, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
    spins = 0;
    while (!got_usr1 && spins < 2000000000L) {
        syscall(SYS_getpid);
        spins++;
    }
    printf("usr1 handled in this thread: %d\n", got_usr1 && usr1_tid == main_tid);
    __atomic_store_n(&gate_word, 2, __ATOMIC_SEQ_CST);
    fx(&gate_word, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
    pthread_join(t, 0);
    printf("joined\n");
    return 0;
}
