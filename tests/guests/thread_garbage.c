/* Garbage arguments to clone, clone3, futex, set_robust_list,
   get_robust_list, tgkill, tkill and the affinity calls: the errno the
   real kernel gives, printed per call. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

/* <linux/futex.h>'s numbers (musl has no kernel headers). */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_WAIT_BITSET 9
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#define FUTEX_CMP_REQUEUE_PRIVATE (FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_OP_PRIVATE (FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG)
#define FUTEX_OP_ADD 1
#define FUTEX_OP_CMP_EQ 0
#define FUTEX_OP(op, oparg, cmp, cmparg) \
    ((((op) & 0xf) << 28) | (((cmp) & 0xf) << 24) | (((oparg) & 0xfff) << 12) | ((cmparg) & 0xfff))

static void show(const char *what, long r) {
    printf("%-40s %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

int main(void) {
    static uint32_t word = 5;
    static char buf[4096];
    long r;
    r = syscall(SYS_clone, CLONE_THREAD, 0, 0, 0, 0);
    show("clone THREAD without SIGHAND", r);
    r = syscall(SYS_clone, CLONE_SIGHAND, 0, 0, 0, 0);
    show("clone SIGHAND without VM", r);
    r = syscall(SYS_clone, CLONE_NEWNS | CLONE_FS, 0, 0, 0, 0);
    show("clone NEWNS|FS", r);
#ifdef SYS_clone3
    r = syscall(SYS_clone3, buf, 8);
    show("clone3 size 8", r);
    r = syscall(SYS_clone3, (void *)16, 88);
    show("clone3 bad pointer", r);
    memset(buf, 0, sizeof buf);
    buf[200] = 1;
    r = syscall(SYS_clone3, buf, 256);
    show("clone3 nonzero tail", r);
    memset(buf, 0, sizeof buf);
    ((uint64_t *)buf)[0] = CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
    ((uint64_t *)buf)[4] = SIGCHLD;
    r = syscall(SYS_clone3, buf, 88);
    show("clone3 thread with exit signal", r);
    ((uint64_t *)buf)[0] = 0;
    ((uint64_t *)buf)[4] = 0;
    ((uint64_t *)buf)[6] = 4096;
    r = syscall(SYS_clone3, buf, 88);
    show("clone3 stack size without stack", r);
#endif
    r = syscall(SYS_futex, &word, 99, 0, 0, 0, 0);
    show("futex bad op", r);
    r = syscall(SYS_futex, (char *)&word + 1, FUTEX_WAIT, 5, 0, 0, 0);
    show("futex unaligned wait", r);
    r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 6, 0, 0, 0);
    show("futex wait value differs", r);
    r = syscall(SYS_futex, (void *)16, FUTEX_WAIT, 5, 0, 0, 0);
    show("futex wait bad address", r);
    r = syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
    show("futex wake nobody", r);
    r = syscall(SYS_futex, &word, FUTEX_WAIT_BITSET, 5, 0, 0, 0);
    show("futex wait bitset 0", r);
    r = syscall(SYS_futex, &word, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, &word, 7);
    show("futex cmp_requeue mismatch", r);
    r = syscall(SYS_futex, &word, FUTEX_CMP_REQUEUE_PRIVATE, -1, 1, &word, 5);
    show("futex cmp_requeue negative", r);
    struct timespec ts = {0, 1000000};
    r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 5, &ts, 0, 0);
    show("futex wait timeout", r);
    ts.tv_nsec = -1;
    r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 5, &ts, 0, 0);
    show("futex wait bad timeout", r);
    r = syscall(SYS_futex, &word, FUTEX_WAKE_OP_PRIVATE, 1, 1, &word, 0x7f000000);
    show("futex wake_op bad cmp", r);
    r = syscall(SYS_futex, &word, FUTEX_WAKE_OP_PRIVATE, 1, 1, &word,
                FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 5));
    show("futex wake_op add", r);
    printf("word after wake_op %u\n", word);
    r = syscall(SYS_set_robust_list, buf, 1);
    show("set_robust_list bad size", r);
    long head = 0;
    size_t len = 0;
    r = syscall(SYS_get_robust_list, 0, &head, &len);
    show("get_robust_list self", r);
    r = syscall(SYS_get_robust_list, 0, (void *)16, &len);
    show("get_robust_list bad pointer", r);
    r = syscall(SYS_tgkill, getpid(), getpid(), 99);
    show("tgkill bad signal", r);
    r = syscall(SYS_tgkill, -1, getpid(), 0);
    show("tgkill bad tgid", r);
    r = syscall(SYS_tgkill, getpid(), getpid() + 1000000, 0);
    show("tgkill no such thread", r);
    r = syscall(SYS_tkill, 0, 0);
    show("tkill tid 0", r);
    r = syscall(SYS_tkill, getpid(), 0);
    show("tkill self signal 0", r);
    r = syscall(SYS_sched_yield);
    show("sched_yield", r);
    cpu_set_t set;
    CPU_ZERO(&set);
    r = syscall(SYS_sched_setaffinity, 0, sizeof set, &set);
    show("sched_setaffinity empty", r);
    r = syscall(SYS_sched_getaffinity, getpid() + 1000000, sizeof set, &set);
    show("sched_getaffinity no such pid", r);
    return 0;
}
