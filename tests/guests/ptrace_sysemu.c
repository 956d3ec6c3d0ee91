/* PTRACE_SYSEMU_SINGLESTEP: a step trap after each instruction, the
 * system call reported at entry and skipped (the tracer's rax is its
 * result), no step trap for the call instruction itself; and PTRACE_SYSEMU
 * then PTRACE_SINGLESTEP mixed. Offsets are from a label, so nothing
 * printed differs between runs. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define SYSEMU 31
#define SYSEMU_SINGLESTEP 32
#define P(req, pid, a, d) ptrace((int)(req), (pid), (void *)(uintptr_t)(a), (void *)(uintptr_t)(d))

#ifdef __x86_64__
#define IP(r) ((r).rip)
#define AX(r) ((r).rax)
#define ORIG(r) ((long)(r).orig_rax)
#else
#define IP(r) ((r).eip)
#define AX(r) ((r).eax)
#define ORIG(r) ((long)(r).orig_eax)
#endif

extern char emu_start[];

static void child(void)
{
    long r;
    P(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    __asm__ volatile("int3");
#ifdef __x86_64__
    __asm__ volatile(".globl emu_start\nemu_start:\n\tnop\n\tnop\n\tmov $39, %%eax\n\tsyscall\n"
                     "\tnop\n\tmov $39, %%eax\n\tsyscall\n\tnop\n\tmov %%rax, %0\n"
                     : "=r"(r) : : "rax", "rcx", "r11", "memory");
#else
    __asm__ volatile(".globl emu_start\nemu_start:\n\tnop\n\tnop\n\tmov $20, %%eax\n\tint $0x80\n"
                     "\tnop\n\tmov $20, %%eax\n\tint $0x80\n\tnop\n\tmov %%eax, %0\n"
                     : "=r"(r) : : "eax", "memory");
#endif
    printf("child: last call returned %ld\n", r);
    fflush(stdout);
    _exit(0);
}

static int stop(pid_t pid, struct user_regs_struct *r)
{
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st))
        return -1;
    P(PTRACE_GETREGS, pid, 0, r);
    return st >> 8;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t pid = fork();
    if (pid == 0)
        child();
    struct user_regs_struct r;
    printf("SIGSTOP stop: %#x\n", stop(pid, &r));
    P(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD);
    P(PTRACE_CONT, pid, 0, 0);
    printf("int3 stop: %#x\n", stop(pid, &r));
    long e = P(SYSEMU_SINGLESTEP, pid, 0, 1000);
    printf("sysemu_singlestep bad signal: %ld %s\n", e, strerror(errno));
    e = P(SYSEMU_SINGLESTEP, 0x7ffffff0, 0, 0);
    printf("sysemu_singlestep no tracee: %ld %s\n", e, strerror(errno));
    int calls = 0;
    for (int i = 0; i < 20; i++) {
        long req = calls < 1 ? SYSEMU_SINGLESTEP : calls < 2 ? SYSEMU : PTRACE_SINGLESTEP;
        if (P(req, pid, 0, 0) < 0) {
            printf("resume: %s\n", strerror(errno));
            break;
        }
        int s = stop(pid, &r);
        long off = (long)(IP(r) - (uintptr_t)emu_start);
        if (s == (SIGTRAP | 0x80)) {
            printf("syscall entry: nr %ld rax %ld at +%ld\n", ORIG(r), (long)AX(r), off);
            AX(r) = 1000 + calls++;
            P(PTRACE_SETREGS, pid, 0, &r);
        } else {
            printf("stop %#x at +%ld\n", s, off);
        }
        if (off > 18)
            break;
    }
    P(PTRACE_CONT, pid, 0, 0);
    int st;
    waitpid(pid, &st, 0);
    printf("end: exited %d status %d\n", WIFEXITED(st), WEXITSTATUS(st));
    return 0;
}
