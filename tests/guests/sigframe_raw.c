/* sigreturn with no signal: the stack pointer at an unmapped address (the
 * frame cannot be read: SIGSEGV, SI_KERNEL, as Linux's badframe) or at
 * pseudo-random bytes (whatever they say: the outcome natively is the
 * oracle). usage: sigframe_raw MODE SEED; MODE bit 0: unmapped, bit 1:
 * i386's rt_sigreturn rather than sigreturn. Fault handlers run on an
 * alternate stack and print the signal, si_code, si_addr, trapno, err. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
#include <sys/syscall.h>
static char alt[65536];
static unsigned char junk[8192];
static void h(int s, siginfo_t *si, void *c) {
    ucontext_t *uc = c;
    char b[200];
#ifdef __x86_64__
    int n = snprintf(b, sizeof b, "sig %d code %d addr %p trap %lld err %lld\n", s, si->si_code, si->si_addr, (long long)uc->uc_mcontext.gregs[REG_TRAPNO], (long long)uc->uc_mcontext.gregs[REG_ERR]);
#else
    int n = snprintf(b, sizeof b, "sig %d code %d addr %p trap %d err %d\n", s, si->si_code, si->si_addr, uc->uc_mcontext.gregs[REG_TRAPNO], uc->uc_mcontext.gregs[REG_ERR]);
#endif
    write(1, b, n); _exit(0);
}
int main(int argc, char **argv) {
    int mode = atoi(argv[1]);
    unsigned seed = atoi(argv[2]);
    srand(seed); for (unsigned i = 0; i < sizeof junk; i++) junk[i] = rand();
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt}; sigaltstack(&ss, 0);
    struct sigaction sa = {0}; sa.sa_sigaction = h; sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    for (int s = 1; s < 32; s++) if (s != 9 && s != 19) sigaction(s, &sa, 0);
    long sp = mode & 1 ? 0x10 : (long)(junk + 4096);
#ifdef __x86_64__
    __asm__ volatile("mov %0, %%rsp; mov $15, %%eax; syscall" :: "r"(sp) : "memory");
#else
    long nr = mode & 2 ? 173 : 119;
    __asm__ volatile("mov %0, %%esp; mov %1, %%eax; int $0x80" :: "r"(sp), "r"(nr) : "memory");
#endif
    return 0;
}
