/* The calls whose answer is a constant of the process (getpid, gettid,
 * getuid, geteuid, getgid, getegid), made through SYSCALL (x86-64) or the
 * vDSO's __kernel_vsyscall (i386: SYSENTER or compat SYSCALL) in tight loops,
 * around everything that may change the answer or must see the call: a
 * fork, a signal from another process, a timer's signal, a single step,
 * a ptrace tracer stopping at each call. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __i386__
static long raw(long nr) {
    long r;
    __asm__ volatile("call *%%gs:0x10" : "=a"(r) : "a"(nr) : "memory");
    return r;
}

static const long NRS[] = {SYS_getpid, SYS_gettid, SYS_getuid32, SYS_geteuid32, SYS_getgid32,
                           SYS_getegid32};
#define STEP_PAIR "pushf\n\torl $0x100, (%%esp)\n\tpopf\n\t" \
    "mov $20, %%eax\n\tcall *%%gs:0x10\n\tnop\n\tmov $20, %%eax\n\tcall *%%gs:0x10\n\t" \
    "pushf\n\tandl $~0x100, (%%esp)\n\tpopf"
#define STEP_ONE "mov $20, %%eax\n\tpushf\n\torl $0x100, (%%esp)\n\tpopf\n\t" \
    "call *%%gs:0x10\n\tpushf\n\tandl $~0x100, (%%esp)\n\tpopf"
#define STEP_CLOBBERS "memory", "cc"
#define ORIG_AX orig_eax
#else
static long raw(long nr) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(nr) : "rcx", "r11", "memory");
    return r;
}

static const long NRS[] = {SYS_getpid, SYS_gettid, SYS_getuid, SYS_geteuid, SYS_getgid,
                           SYS_getegid};
#define STEP_PAIR "pushf\n\torq $0x100, (%%rsp)\n\tpopf\n\t" \
    "mov $39, %%eax\n\tsyscall\n\tnop\n\tmov $39, %%eax\n\tsyscall\n\t" \
    "pushf\n\tandq $~0x100, (%%rsp)\n\tpopf"
#define STEP_ONE "mov $39, %%eax\n\tpushf\n\torq $0x100, (%%rsp)\n\tpopf\n\t" \
    "syscall\n\tpushf\n\tandq $~0x100, (%%rsp)\n\tpopf"
#define STEP_CLOBBERS "rcx", "r11", "memory", "cc"
#define ORIG_AX orig_rax
#endif
#define NNRS (sizeof NRS / sizeof *NRS)

/* n rounds of every constant call; 1 if each answer was the first one */
static int loop(long n) {
    long first[NNRS];
    for (unsigned i = 0; i < NNRS; i++)
        first[i] = raw(NRS[i]);
    int same = first[0] == getpid() && first[1] == gettid() && first[2] == (long)getuid();
    for (long k = 0; k < n; k++)
        for (unsigned i = 0; i < NNRS; i++)
            if (raw(NRS[i]) != first[i])
                same = 0;
    return same;
}

static volatile sig_atomic_t got;
static void on_signal(int sig) { got = sig; }
static volatile long traps;
static void on_trap(int sig) { (void)sig; traps++; }

int main(int argc, char **argv) {
    const char *what = argc > 1 ? argv[1] : "loop";
    if (!strcmp(what, "loop")) {
        printf("same answers: %d\n", loop(20000));
    } else if (!strcmp(what, "fork")) {
        long parent = raw(SYS_getpid);
        loop(1000);
        pid_t pid = fork();
        if (pid == 0) {
            long me = raw(SYS_getpid);
            int ok = me != parent && me == getpid() && raw(SYS_gettid) == me && loop(1000);
            _exit(ok ? 7 : 1);
        }
        int st;
        waitpid(pid, &st, 0);
        printf("child's answers its own: %d; parent's still: %d\n",
               WIFEXITED(st) && WEXITSTATUS(st) == 7, raw(SYS_getpid) == parent && loop(1000));
    } else if (!strcmp(what, "signal")) {
        signal(SIGUSR1, on_signal);
        pid_t me = getpid();
        pid_t pid = fork();
        if (pid == 0) {
            usleep(100000);
            kill(me, SIGUSR1);
            _exit(0);
        }
        long n = 0;
        while (!got && n < 2000000000L) {
            raw(SYS_getpid);
            n++;
        }
        waitpid(pid, NULL, 0);
        printf("signal from outside seen: %d\n", got == SIGUSR1);
        /* and a loop killed from outside ends */
        pid = fork();
        if (pid == 0) {
            for (;;)
                raw(SYS_getpid);
        }
        usleep(100000);
        kill(pid, SIGTERM);
        int st;
        waitpid(pid, &st, 0);
        printf("looping child killed: %d\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
    } else if (!strcmp(what, "timer")) {
        signal(SIGALRM, on_signal);
        loop(100);
        struct itimerval it = {{0, 0}, {0, 50000}};
        setitimer(ITIMER_REAL, &it, NULL);
        long n = 0;
        while (!got && n < 2000000000L) {
            raw(SYS_getpid);
            n++;
        }
        printf("timer's signal seen: %d\n", got == SIGALRM);
    } else if (!strcmp(what, "step")) {
        signal(SIGTRAP, on_trap);
        loop(100);
        for (int i = 0; i < 10; i++) {
            long r;
            __asm__ volatile(STEP_PAIR : "=a"(r) : : STEP_CLOBBERS);
        }
        /* TF set by the instruction right before the SYSCALL: the call
         * itself runs with TF set (and traps after it) */
        long same = 0;
        for (int i = 0; i < 10; i++) {
            long r;
            __asm__ volatile(STEP_ONE : "=a"(r) : : STEP_CLOBBERS);
            same += r == getpid();
        }
        printf("single-step traps: %ld, answers %ld\n", traps, same);
    } else if (!strcmp(what, "ptrace")) {
        pid_t pid = fork();
        if (pid == 0) {
            ptrace(PTRACE_TRACEME, 0, 0, 0);
            raise(SIGSTOP);
            loop(50);
            _exit(0);
        }
        int st, stops = 0, getpids = 0;
        waitpid(pid, &st, 0);
        for (;;) {
            ptrace(PTRACE_SYSCALL, pid, 0, 0);
            waitpid(pid, &st, 0);
            if (WIFEXITED(st))
                break;
            if (WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP) {
                struct user_regs_struct regs;
                ptrace(PTRACE_GETREGS, pid, 0, &regs);
                stops++;
                getpids += regs.ORIG_AX == SYS_getpid;
            }
        }
        printf("getpid stops: %d (of %d)\n", getpids, stops > 0);
    }
    return 0;
}
