/* Garbage signal frames: a SIGUSR1 handler overwrites its saved context
 * with pseudo-random registers and segment selectors (CS, SS, and on i386
 * DS/ES/FS/GS), sometimes a bad or absent FPU state pointer, and returns
 * through sigreturn (rt_sigreturn; i386 also the old sigreturn). The
 * instruction pointer goes to a UD2, which any mode decodes the same: a
 * frame the kernel accepts ends in SIGILL there, one IRET refuses in
 * SIGSEGV (or SIGBUS) at once. Each trial runs in a forked child whose
 * fault handlers (on an alternate stack, raw system calls only: the
 * segment registers may be anything) print what they see; the parent
 * prints how the child ended. The native run is the oracle.
 *
 * usage: sigframe_fuzz SEED TRIALS
 * A segment named in the environment (CS=0x2b, FS=0xffff...) takes that
 * value in every trial; BARE=1 installs no fault handlers (the child dies
 * of the signal). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

extern char fuzz_ud2[];
__asm__(".text\n.globl fuzz_ud2\nfuzz_ud2: ud2\n");

static uint64_t rng;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static long raw3(long nr, long a, long b, long c)
{
    long r;
#ifdef __x86_64__
    __asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
#else
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
#endif
    return r;
}

static char line[512];
static int at;

static void put(const char *s)
{
    while (*s)
        line[at++] = *s++;
}

static void hex(uint64_t v)
{
    char buf[20];
    int n = 0;
    do {
        buf[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    line[at++] = ' ';
    while (n)
        line[at++] = buf[--n];
}

static void flush_and_exit(void)
{
    line[at++] = '\n';
    raw3(SYS_write, 1, (long)line, at);
    raw3(SYS_exit, 0, 0, 0);
}

static const uint16_t selectors[] = {
    0x33, 0x23, 0x2b, 0x2b, 0x33, 0x23, 0x0, 0x3, 0x1, 0x4, 0x7, 0x8, 0xb, 0x10, 0x13,
    0x18, 0x1b, 0x28, 0x3b, 0x43, 0x4b, 0x53, 0x5b, 0x63, 0x6b, 0x73, 0x7b, 0x7f, 0x83,
    0xfff3, 0xffff, 0xfffc,
};

/* Half the time one of the selectors a task may well hold, so that
 * frames the kernel accepts are common too. */
static uint16_t selector(const uint16_t *good, int ngood)
{
    uint64_t r = next();
    if (r % 2 == 0)
        return good[(r >> 8) % ngood];
    if (r % 16 == 1)
        return (uint16_t)(r >> 16);
    return selectors[(r >> 8) % (sizeof selectors / sizeof selectors[0])];
}

#ifdef __x86_64__
static const uint16_t good_cs[] = {0x33, 0x33, 0x33, 0x23, 0x30};
#else
static const uint16_t good_cs[] = {0x23, 0x23, 0x20, 0x33};
#endif
static const uint16_t good_ss[] = {0x2b, 0x2b, 0x28, 0x29};
#ifndef __x86_64__
static const uint16_t good_data[] = {0x2b, 0x63, 0x0, 0x1, 0x3, 0x23, 0x33, 0x7b, 0x28};
#endif
static long fixed[6] = {-1, -1, -1, -1, -1, -1};
enum { F_CS, F_SS, F_DS, F_ES, F_FS, F_GS };
#define SEL(kind) selector(kind, sizeof kind / sizeof kind[0])
#define SEG(which, kind) (fixed[which] >= 0 ? (uint16_t)(SEL(kind), fixed[which]) : SEL(kind))

/* The arithmetic flags and DF only: TF and AC would trap for reasons of
 * their own. */
static unsigned long flags(void)
{
    return (next() & 0x8d5) | 0x202;
}

static unsigned long ip(void)
{
    uint64_t r = next() % 16;
    if (r == 0)
        return (unsigned long)(sizeof(long) == 8 ? 0x0000800000000000ULL : 0xfffffff0UL);
    if (r == 1)
        return (unsigned long)(sizeof(long) == 8 ? 0xffff800000001000ULL : 0xc0001000UL);
    return (unsigned long)fuzz_ud2;
}

static int fp_mode(void)
{
    uint64_t r = next() % 16;
    return r < 13 ? 0 : (int)r - 12;     /* 1: no state, 2: a bad pointer, 3: bad MXCSR */
}

static void fault_handler(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    greg_t *g = uc->uc_mcontext.gregs;
    at = 0;
    put("sig");
    hex(sig);
    hex(si->si_code);
    hex((uintptr_t)si->si_addr);
#ifdef __x86_64__
    put(" trap");
    hex(g[REG_TRAPNO]);
    hex(g[REG_ERR]);
    put(" cs");
    hex(g[REG_CSGSFS] & 0xffff);
    put(" ss");
    hex((g[REG_CSGSFS] >> 48) & 0xffff);
    put(" ip");
    hex(g[REG_RIP]);
#else
    put(" trap");
    hex(g[REG_TRAPNO]);
    hex(g[REG_ERR]);
    put(" cs");
    hex(g[REG_CS] & 0xffff);
    put(" ss");
    hex(g[REG_SS] & 0xffff);
    put(" ds");
    hex(g[REG_DS] & 0xffff);
    put(" es");
    hex(g[REG_ES] & 0xffff);
    put(" fs");
    hex(g[REG_FS] & 0xffff);
    put(" gs");
    hex(g[REG_GS] & 0xffff);
    put(" ip");
    hex(g[REG_EIP] & 0xffffffff);
#endif
    flush_and_exit();
}

static int fpmode;

static void garble_fp(struct _libc_fpstate **fpp)
{
    if (fpmode == 1)
        *fpp = NULL;
    else if (fpmode == 2)
        *fpp = (void *)16;
#ifdef __x86_64__
    else if (fpmode == 3)
        (*fpp)->mxcsr |= 1u << 20;
#endif
}

static void usr1_rt(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)si;
    ucontext_t *uc = ctx;
    greg_t *g = uc->uc_mcontext.gregs;
#ifdef __x86_64__
    for (int r = REG_R8; r <= REG_RCX; r++)
        g[r] = next();
    g[REG_RSP] = next();
    g[REG_RIP] = ip();
    g[REG_EFL] = flags();
    uint64_t cs = SEG(F_CS, good_cs), ss = SEG(F_SS, good_ss), fsgs = next() & 0xffffffff;
    g[REG_CSGSFS] = cs | (fsgs << 16) | (ss << 48);
    /* A kernel-half RIP into compat mode is cut to 32 bits by this host's
     * CPU; other CPUs may refuse it: left out, so the test holds on each. */
    if ((cs | 3) != 0x33 && (uint64_t)g[REG_RIP] >> 47)
        g[REG_RIP] = (greg_t)fuzz_ud2;
    if (next() % 4 == 0)
        uc->uc_flags &= ~4UL;             /* UC_STRICT_RESTORE_SS */
    garble_fp(&uc->uc_mcontext.fpregs);
#else
    g[REG_EDI] = next();
    g[REG_ESI] = next();
    g[REG_EBP] = next();
    g[REG_EBX] = next();
    g[REG_EDX] = next();
    g[REG_ECX] = next();
    g[REG_EAX] = next();
    g[REG_ESP] = next();
    g[REG_UESP] = next();
    g[REG_EIP] = ip();
    g[REG_EFL] = flags();
    g[REG_CS] = SEG(F_CS, good_cs);
    g[REG_SS] = SEG(F_SS, good_ss);
    g[REG_DS] = SEG(F_DS, good_data);
    g[REG_ES] = SEG(F_ES, good_data);
    g[REG_FS] = SEG(F_FS, good_data);
    g[REG_GS] = SEG(F_GS, good_data);
    garble_fp(&uc->uc_mcontext.fpregs);
#endif
}

#ifndef __x86_64__
/* The old i386 frame: the sigcontext follows the signal number on the
 * stack, as the kernel laid it out. */
static void usr1_old(int sig)
{
    (void)sig;
    struct sigcontext *volatile sc =
        (struct sigcontext *)((char *)__builtin_frame_address(0) + 12);
    sc->edi = next();
    sc->esi = next();
    sc->ebp = next();
    sc->ebx = next();
    sc->edx = next();
    sc->ecx = next();
    sc->eax = next();
    sc->esp = next();
    sc->eip = ip();
    sc->eflags = flags();
    sc->cs = SEG(F_CS, good_cs);
    sc->ss = SEG(F_SS, good_ss);
    sc->ds = SEG(F_DS, good_data);
    sc->es = SEG(F_ES, good_data);
    sc->fs = SEG(F_FS, good_data);
    sc->gs = SEG(F_GS, good_data);
    if (fpmode == 1)
        sc->fpstate = 0;
    else if (fpmode == 2)
        sc->fpstate = (void *)16;
}
#endif

static char altstack[65536];

static int bare;

static void trial(int old)
{
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fault_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0] && !bare; i++)
        sigaction(sigs[i], &sa, NULL);
    memset(&sa, 0, sizeof sa);
#ifndef __x86_64__
    if (old) {
        sa.sa_handler = usr1_old;
        sa.sa_flags = SA_ONSTACK;
    } else
#endif
    {
        (void)old;
        sa.sa_sigaction = usr1_rt;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    }
    sigaction(SIGUSR1, &sa, NULL);
    raw3(SYS_kill, raw3(SYS_getpid, 0, 0, 0), SIGUSR1, 0);
    at = 0;
    put("returned from the handler");
    flush_and_exit();
}

int main(int argc, char **argv)
{
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
    int trials = argc > 2 ? atoi(argv[2]) : 50;
    const char *names[6] = {"CS", "SS", "DS", "ES", "FS", "GS"};
    for (int k = 0; k < 6; k++)
        if (getenv(names[k]))
            fixed[k] = strtol(getenv(names[k]), NULL, 0);
    bare = getenv("BARE") != NULL;
    for (int i = 0; i < trials; i++) {
        rng = seed * 0x9E3779B97F4A7C15ULL + (uint64_t)i * 0x2545F4914F6CDD1DULL + 1;
        for (int k = 0; k < 4; k++)
            next();
        fpmode = fp_mode();
        int old = (int)(next() & 1);
        char head[32];
        int n = 0;
        head[n++] = 't';
        for (int d = 1000; d; d /= 10)
            head[n++] = '0' + (i / d) % 10;
        head[n++] = ':';
        raw3(SYS_write, 1, (long)head, n);
        pid_t pid = fork();
        if (pid == 0)
            trial(old);
        int st;
        waitpid(pid, &st, 0);
        at = 0;
        if (WIFSIGNALED(st)) {
            put("killed by");
            hex(WTERMSIG(st));
            line[at++] = '\n';
        } else if (WEXITSTATUS(st)) {
            put("exit");
            hex(WEXITSTATUS(st));
            line[at++] = '\n';
        }
        raw3(SYS_write, 1, (long)line, at);
    }
    return 0;
}
