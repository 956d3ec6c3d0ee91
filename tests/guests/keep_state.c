/* A process full of junk execs a dynamic program with the same ld.so
 * (kernel/keepinterp keeps the CPU): the new image must find the CPU as
 * Linux leaves it after execve. "dirty" sets x87, SSE, MXCSR, segment,
 * TLS (set_thread_area), LDT, GS base, signal state and EFLAGS.DF/AC
 * junk, then execs itself with "check", which prints what it finds. */
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef __x86_64__
#include <asm/prctl.h>
#define NXMM 16
#else
#define NXMM 8
#endif

static unsigned char xmm[NXMM][16];

static void save_xmm(void) {
#define S(n) __asm__ volatile("movdqu %%xmm" #n ", %0" : "=m"(xmm[n]));
    S(0) S(1) S(2) S(3) S(4) S(5) S(6) S(7)
#ifdef __x86_64__
    S(8) S(9) S(10) S(11) S(12) S(13) S(14) S(15)
#endif
#undef S
}

static void load_xmm(void) {
    for (int i = 0; i < NXMM; i++)
        memset(xmm[i], 0xa0 + i, 16);
#define L(n) __asm__ volatile("movdqu %0, %%xmm" #n : : "m"(xmm[n]));
    L(0) L(1) L(2) L(3) L(4) L(5) L(6) L(7)
#ifdef __x86_64__
    L(8) L(9) L(10) L(11) L(12) L(13) L(14) L(15)
#endif
#undef L
}

static void on_usr1(int s) { (void)s; }

static int check(void) {
    save_xmm();     /* first: what ld.so and libc's start left */
    unsigned int mxcsr, env[7] = {0};
    unsigned long flags;
    unsigned short fs, gs;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstenv %0" : "=m"(env));
    __asm__ volatile("pushf; pop %0" : "=r"(flags));
    __asm__ volatile("mov %%fs, %0; mov %%gs, %1" : "=r"(fs), "=r"(gs));
    printf("mxcsr %#x fcw %#x fsw %#x ftw %#x\n", mxcsr, env[0] & 0xffff, env[1] & 0xffff,
           env[2] & 0xffff);
    printf("flags DF %lu AC %lu TF %lu\n", flags >> 10 & 1, flags >> 18 & 1, flags >> 8 & 1);
    /* xmm0-2 hold what libc's string functions left, which depend on the
     * CPU model's (ifunc) */
    for (int i = 3; i < NXMM; i++) {
        printf("xmm%d ", i);
        for (int j = 0; j < 16; j++)
            printf("%02x", xmm[i][j]);
        printf("\n");
    }
#ifdef __x86_64__
    unsigned long gsbase = 1;
    syscall(SYS_arch_prctl, ARCH_GET_GS, &gsbase);
    printf("fs %#x gs %#x gsbase %#lx\n", fs, gs, gsbase);
#else
    printf("fs %#x\n", fs);
    for (int e = 12; e <= 14; e++) {
        struct user_desc d = {.entry_number = e};
        long r = syscall(SYS_get_thread_area, &d);
        /* entry 12 is glibc's own TLS: only whether it is present */
        printf("tls %d: %ld present %d", e, r, !d.seg_not_present);
        if (e != 12)
            printf(" base %#x limit %#x", d.base_addr, d.limit);
        printf("\n");
    }
#endif
    char ldt[64];
    memset(ldt, 0x55, sizeof ldt);
    long n = syscall(SYS_modify_ldt, 0, ldt, sizeof ldt);
    printf("ldt read %ld\n", n);
    stack_t ss;
    sigaltstack(NULL, &ss);
    printf("altstack flags %d size %lu\n", ss.ss_flags, (unsigned long)ss.ss_size);
    sigset_t mask, pend;
    sigprocmask(SIG_BLOCK, NULL, &mask);
    sigpending(&pend);
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    printf("usr1 blocked %d pending %d default %d\n", sigismember(&mask, SIGUSR1),
           sigismember(&pend, SIGUSR1), sa.sa_handler == SIG_DFL);
    sigaction(SIGUSR2, NULL, &sa);
    printf("usr2 ignored %d\n", sa.sa_handler == SIG_IGN);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "check"))
        return check();
    /* signals: a handler (reset), an ignored one (kept), a pending blocked
     * one (kept pending), an alternate stack (gone) */
    static char alt[65536];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
    sigaltstack(&ss, NULL);
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, SIG_IGN);
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigprocmask(SIG_BLOCK, &m, NULL);
    raise(SIGUSR1);
    /* an LDT entry, loaded into FS on i386 */
    struct user_desc d = {.entry_number = 0, .base_addr = 0x1000, .limit = 0xfff,
                          .seg_32bit = 1, .useable = 1};
    if (syscall(SYS_modify_ldt, 1, &d, sizeof d))
        perror("modify_ldt");
#ifdef __x86_64__
    if (syscall(SYS_arch_prctl, ARCH_SET_GS, 0x12345000UL))
        perror("arch_prctl");
#else
    struct user_desc t = {.entry_number = -1, .base_addr = 0x5000, .limit = 0xfff,
                          .seg_32bit = 1, .useable = 1};
    if (syscall(SYS_set_thread_area, &t))
        perror("set_thread_area");
    unsigned short sel = 7;     /* LDT entry 0, RPL 3 */
    __asm__ volatile("mov %0, %%fs" : : "r"(sel));
#endif
    static const char *args[] = {"keep_state", "check", NULL};
    static const char *envp[] = {NULL};
    static const char self[] = "/proc/self/exe";
    unsigned short cw = 0x0c7f;
    unsigned int mx = 0x7fc0;
    fflush(stdout);
    __asm__ volatile("fldcw %0; fldpi; fld1; ldmxcsr %1" : : "m"(cw), "m"(mx));
    load_xmm();
    long r;
#ifdef __x86_64__
    register long a2 __asm__("rdx") = (long)envp;
    __asm__ volatile("pushf; orl $0x40000, (%%rsp); popf; std; syscall; cld"
                     : "=a"(r) : "0"(SYS_execve), "D"(self), "S"(args), "r"(a2)
                     : "rcx", "r11", "memory", "cc");
#else
    __asm__ volatile("push %%ebx; mov %2, %%ebx; pushf; orl $0x40000, (%%esp); popf; std;"
                     "int $0x80; cld; pop %%ebx"
                     : "=a"(r) : "0"(SYS_execve), "r"(self), "c"(args), "d"(envp)
                     : "memory", "cc");
#endif
    return 1;
}
