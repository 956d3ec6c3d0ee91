/* Signal delivery on the way out of the kernel and on faults: handlers,
 * siginfo, masks, alternate stacks, siglongjmp out of a fault, and a
 * handler that edits the interrupted registers to skip a faulting insn. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile int got, got_code, on_alt;
static volatile void *fault_addr;
static char altstack[65536];

static void on_usr1(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    got = sig;
    got_code = si->si_code;
}

static void on_segv(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    fault_addr = si->si_addr;
    got_code = si->si_code;
    char probe;
    on_alt = (char *)&probe >= altstack && (char *)&probe < altstack + sizeof altstack;
    siglongjmp(jb, sig);
}

static void skip_ud2(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *uc = ctx;
    (void)sig;
    got_code = si->si_code;
#ifdef __x86_64__
    uc->uc_mcontext.gregs[REG_RIP] += 2;
#else
    uc->uc_mcontext.gregs[REG_EIP] += 2;
#endif
}

static void plain(int sig) { got = sig; }

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, 0);
    raise(SIGUSR1);
    printf("raise: got %d code %d (SI_TKILL %d)\n", got, got_code, SI_TKILL);

    got = 0;
    kill(getpid(), SIGUSR1);
    printf("kill: got %d code %d (SI_USER %d)\n", got, got_code, SI_USER);

    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    got = 0;
    raise(SIGUSR1);
    sigset_t pend;
    sigpending(&pend);
    printf("blocked: got %d, pending %d\n", got, sigismember(&pend, SIGUSR1));
    sigprocmask(SIG_SETMASK, &old, 0);
    printf("unblocked: got %d\n", got);

    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0 };
    sigaltstack(&ss, 0);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, 0);
    int r = sigsetjmp(jb, 1);
    if (r == 0)
        *(volatile int *)16 = 1;
    printf("segv: sig %d addr %p code %d (MAPERR %d) on altstack %d\n",
           r, (void *)fault_addr, got_code, SEGV_MAPERR, on_alt);
    r = sigsetjmp(jb, 1);
    if (r == 0)
        *(volatile char *)"literal" = 'L';
    printf("segv write to rodata: sig %d code %d (ACCERR %d)\n", r, got_code, SEGV_ACCERR);

    sa.sa_sigaction = skip_ud2;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGILL, &sa, 0);
    __asm__ volatile("ud2");
    printf("ud2 skipped, code %d (ILL_ILLOPN %d)\n", got_code, ILL_ILLOPN);

    signal(SIGUSR2, plain);
    got = 0;
    raise(SIGUSR2);
    printf("signal(): got %d\n", got);
    signal(SIGUSR2, SIG_IGN);
    raise(SIGUSR2);
    printf("ignored SIGUSR2 survived\n");

    double d = 1.5;
    for (int i = 0; i < 3; i++) {
        raise(SIGUSR1);
        d *= 2.25;
    }
    printf("fp survives handlers: %.4f\n", d);
    fflush(stdout);
    signal(SIGUSR2, SIG_DFL);
    raise(SIGUSR2);
    printf("not reached\n");
    return 0;
}
