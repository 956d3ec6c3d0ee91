/* Scheduling policies as a process without CAP_SYS_NICE sees them:
 * Linux's argument checks, the policies it may take (OTHER, BATCH, IDLE),
 * EPERM for the real-time and deadline ones. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct attr { uint32_t size, policy; uint64_t flags; int32_t nice; uint32_t prio;
              uint64_t runtime, deadline, period; uint32_t umin, umax; };

static void show(const char *what, long r)
{
    printf("%s = %ld", what, r);
    if (r < 0)
        printf(" errno %d", errno);
    printf("\n");
}

int main(void)
{
    int pols[] = {0, 1, 2, 3, 5, 6, 4, 7, -1};
    for (unsigned i = 0; i < sizeof(pols) / sizeof(pols[0]); i++) {
        errno = 0;
        long mx = syscall(SYS_sched_get_priority_max, pols[i]);
        int e1 = errno;
        long mn = syscall(SYS_sched_get_priority_min, pols[i]);
        printf("policy %d: max %ld (%d) min %ld (%d)\n", pols[i], mx, e1, mn, errno);
    }
    struct sched_param p = {0};
    show("getscheduler(0)", syscall(SYS_sched_getscheduler, 0));
    show("getscheduler(self)", syscall(SYS_sched_getscheduler, getpid()));
    show("getscheduler(-1)", syscall(SYS_sched_getscheduler, -1));
    show("getscheduler(4000000)", syscall(SYS_sched_getscheduler, 4000000));
    show("getparam(0)", syscall(SYS_sched_getparam, 0, &p));
    printf("priority %d\n", p.sched_priority);
    show("getparam(0, NULL)", syscall(SYS_sched_getparam, 0, NULL));
    show("getparam(0, bad)", syscall(SYS_sched_getparam, 0, (void *)8));
    show("setscheduler(OTHER, 5)", (p.sched_priority = 5, syscall(SYS_sched_setscheduler, 0, 0, &p)));
    show("setscheduler(FIFO, 0)", (p.sched_priority = 0, syscall(SYS_sched_setscheduler, 0, 1, &p)));
    show("setscheduler(FIFO, 100)", (p.sched_priority = 100, syscall(SYS_sched_setscheduler, 0, 1, &p)));
    show("setscheduler(FIFO, 10)", (p.sched_priority = 10, syscall(SYS_sched_setscheduler, 0, 1, &p)));
    show("setscheduler(RR, 1)", (p.sched_priority = 1, syscall(SYS_sched_setscheduler, 0, 2, &p)));
    show("setscheduler(9, 0)", (p.sched_priority = 0, syscall(SYS_sched_setscheduler, 0, 9, &p)));
    show("setscheduler(-1, 0)", syscall(SYS_sched_setscheduler, 0, -1, &p));
    show("setscheduler(OTHER, NULL)", syscall(SYS_sched_setscheduler, 0, 0, NULL));
    show("setscheduler(BATCH, 0)", (p.sched_priority = 0, syscall(SYS_sched_setscheduler, 0, 3, &p)));
    show("getscheduler(0)", syscall(SYS_sched_getscheduler, 0));
    show("setparam(0)", syscall(SYS_sched_setparam, 0, &p));
    show("setparam(3)", (p.sched_priority = 3, syscall(SYS_sched_setparam, 0, &p)));
    show("setscheduler(OTHER|RESET_ON_FORK, 0)",
         (p.sched_priority = 0, syscall(SYS_sched_setscheduler, 0, 0x40000000, &p)));
    show("getscheduler(0)", syscall(SYS_sched_getscheduler, 0));
    struct timespec ts;
    show("rr_get_interval(0)", syscall(SYS_sched_rr_get_interval, 0, &ts));
    show("rr_get_interval(-1)", syscall(SYS_sched_rr_get_interval, -1, &ts));
    struct attr a;
    memset(&a, 0xAA, sizeof(a));
    show("getattr(0, 56)", syscall(SYS_sched_getattr, 0, &a, sizeof(a), 0));
    printf("size %u policy %u flags %llx nice %d prio %u\n", a.size, a.policy,
           (unsigned long long)a.flags, a.nice, a.prio);
    memset(&a, 0xAA, sizeof(a));
    show("getattr(0, 48)", syscall(SYS_sched_getattr, 0, &a, 48, 0));
    printf("size %u umin %x\n", a.size, a.umin);
    show("getattr(0, 40)", syscall(SYS_sched_getattr, 0, &a, 40, 0));
    show("getattr(0, flags 1)", syscall(SYS_sched_getattr, 0, &a, 56, 1));
    show("getattr(0, NULL)", syscall(SYS_sched_getattr, 0, NULL, 56, 0));
    memset(&a, 0, sizeof(a));
    a.size = 20;
    show("setattr(size 20)", syscall(SYS_sched_setattr, 0, &a, 0));
    printf("size written back %u\n", a.size);
    memset(&a, 0, sizeof(a));
    a.size = 48;
    show("setattr(OTHER)", syscall(SYS_sched_setattr, 0, &a, 0));
    a.policy = 1; a.prio = 5;
    show("setattr(FIFO 5)", syscall(SYS_sched_setattr, 0, &a, 0));
    a.policy = 6; a.prio = 0; a.runtime = 10000000; a.deadline = 30000000; a.period = 30000000;
    show("setattr(DEADLINE)", syscall(SYS_sched_setattr, 0, &a, 0));
    a.runtime = 100;
    show("setattr(DEADLINE, runtime 100)", syscall(SYS_sched_setattr, 0, &a, 0));
    a.policy = 0; a.flags = 0x100;
    show("setattr(bad flags)", syscall(SYS_sched_setattr, 0, &a, 0));
    return 0;
}
