/* Debug registers through PEEKUSER/POKEUSER (offsetof(struct user,
 * u_debugreg)): what reads back, the errno of bad values, and hardware
 * watchpoints and breakpoints they arm: a write, a read and an execution
 * breakpoint stop the tracee with SIGTRAP (TRAP_HWBKPT) and DR6's bit. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define P(req, pid, a, d) ptrace((int)(req), (pid), (void *)(uintptr_t)(a), (void *)(uintptr_t)(d))
#define DR(n) (offsetof(struct user, u_debugreg) + (n) * sizeof(long))
#ifdef __x86_64__
#define IP(r) ((r).rip)
#else
#define IP(r) ((r).eip)
#endif

/* On one page: a store to other, not watched, is where the watched page
 * first stops the CPU; the watch must still stop right after wvar's store. */
static volatile struct {
    int other, pad;
    int wvar, pad2;
    int rvar;
} g __attribute__((aligned(64))) = {.rvar = 5};
#define other g.other
#define wvar g.wvar
#define rvar g.rvar

__attribute__((noinline)) static int target_fn(int x)
{
    __asm__ volatile("" ::: "memory");
    return x + 1;
}

static void child(void)
{
    P(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    other = 3;              /* not watched: the watched page stops the CPU here */
    wvar = 7;               /* DR0: write watch, stops right after this store */
    int v = rvar;           /* DR1: read/write watch */
    v = target_fn(v);       /* DR2: execution breakpoint */
    v = target_fn(v);
    _exit(v);
}

static void peek_from(pid_t pid, int n, uintptr_t base)
{
    errno = 0;
    unsigned long v = P(PTRACE_PEEKUSER, pid, DR(n), 0);
    if (errno)
        printf("  DR%d: %s\n", n, strerror(errno));
    else
        printf("  DR%d: %#lx\n", n, v - (unsigned long)base);
}

static void peek(pid_t pid, int n)
{
    peek_from(pid, n, 0);
}

static void poke(pid_t pid, int n, unsigned long v, const char *what)
{
    long r = P(PTRACE_POKEUSER, pid, DR(n), v);
    printf("poke DR%d %s: %ld %s\n", n, what, r, r ? strerror(errno) : "");
}

static void trap(pid_t pid, const char *what)
{
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st)) {
        printf("%s: not stopped (%#x)\n", what, st);
        return;
    }
    siginfo_t si;
    struct user_regs_struct r;
    P(PTRACE_GETSIGINFO, pid, 0, &si);
    P(PTRACE_GETREGS, pid, 0, &r);
    printf("%s: sig %d code %d addr==ip %d ip==target_fn %d wvar %ld\n", what, WSTOPSIG(st),
           si.si_code, (uintptr_t)si.si_addr == (uintptr_t)IP(r),
           (uintptr_t)IP(r) == (uintptr_t)target_fn,
           P(PTRACE_PEEKDATA, pid, &wvar, 0) & 0xffffffff);
    peek(pid, 6);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t pid = fork();
    if (pid == 0)
        child();
    int st;
    waitpid(pid, &st, 0);
    printf("initial:\n");
    for (int n = 0; n < 8; n++)
        peek(pid, n);
    poke(pid, 4, 1, "(DR4)");
    poke(pid, 5, 1, "(DR5)");
    poke(pid, 0, (unsigned long)0xffffffffff600000ULL, "kernel address");
    poke(pid, 7, 0x2, "G0 with no address");
    peek(pid, 7);
    poke(pid, 7, 0xc0001, "L0 exec of 4 bytes");
    peek(pid, 7);
    poke(pid, 7, 0x90001, "L0 write of 8 bytes at 0");
    poke(pid, 7, 0x20001, "L0 I/O");
    peek(pid, 7);
    poke(pid, 0, (uintptr_t)&wvar + 4, "&wvar+4 under an 8-byte watch");
    poke(pid, 7, 0, "off");
    poke(pid, 0, (uintptr_t)&wvar, "&wvar");
    poke(pid, 1, (uintptr_t)&rvar + 1, "&rvar+1");
    poke(pid, 7, 0xdd0005, "L0 write 4, L1 write 4 (misaligned)");
    peek(pid, 7);
    poke(pid, 7, 0xd0005, "L0 write 4, L1 exec (misaligned is fine)");
    poke(pid, 1, (uintptr_t)&rvar + 3, "&rvar+3 under L1 exec");
    poke(pid, 7, 0xdd0005, "L0 write 4, L1 write 4 (misaligned)");
    poke(pid, 1, (uintptr_t)&rvar, "&rvar");
    poke(pid, 7, 0x3d0005, "L0 write 4, L1 rw 1 (misaligned len 1 is fine)");
    poke(pid, 7, 0x3d0005 & ~0xf0000UL, "L0 write 1, L1 rw 1");
    poke(pid, 7, 0x3d0005, "L0 write 4, L1 rw 1");
    poke(pid, 6, 0, "DR6 0");
    peek(pid, 6);
    poke(pid, 6, 0xffff0ff0, "DR6 reserved");
    printf("armed:\n");
    peek_from(pid, 0, (uintptr_t)&wvar);
    peek_from(pid, 1, (uintptr_t)&rvar);
    for (int n = 2; n < 8; n++)
        peek(pid, n);
    P(PTRACE_CONT, pid, 0, 0);
    trap(pid, "write watch");
    P(PTRACE_CONT, pid, 0, 0);
    trap(pid, "read watch");
    poke(pid, 2, (uintptr_t)target_fn, "&target_fn");
    poke(pid, 7, 0x3d0015, "+ L2 exec");
    P(PTRACE_CONT, pid, 0, 0);
    trap(pid, "exec breakpoint");
    P(PTRACE_CONT, pid, 0, 0);
    trap(pid, "exec breakpoint again");
    poke(pid, 7, 0, "off");
    peek(pid, 7);
    peek_from(pid, 2, (uintptr_t)target_fn);
    P(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &st, 0);
    printf("end: exited %d status %d\n", WIFEXITED(st), WEXITSTATUS(st));
    return 0;
}
