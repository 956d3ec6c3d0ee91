/* A dynamic program that execs a dynamic program (itself), as a shell does:
 * sysgate then keeps its CPU and the interpreter's translated code
 * (kernel/keepinterp.py). What the new image must see is Linux's:
 *   chain   exec "run" (prints "ran")
 *   probe   exec "old ADDR" with the address of code in libc and in this
 *           program: the new image finds nothing mapped there (SIGSEGV
 *           with SEGV_MAPERR, mincore ENOMEM)
 *   patch   rewrite the first instruction of ld.so's entry point with ud2,
 *           then exec "run": the new image's ld.so is the file's, not the
 *           rewritten one's
 *   deep N  exec itself N more times, then "run" */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf back;
static volatile int code;

static void on_segv(int sig, siginfo_t *si, void *uc) {
    (void)sig, (void)uc;
    code = si->si_code;
    siglongjmp(back, 1);
}

static void probe(unsigned long a, const char *what) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    code = 0;
    if (!sigsetjmp(back, 1))
        (void)*(volatile char *)a;
    unsigned char vec;
    int r = mincore((void *)(a & ~4095UL), 4096, &vec);
    printf("%s: read SIGSEGV code %d, mincore %d %s\n", what, code, r,
           r ? strerror(errno) : "");
}

int main(int argc, char **argv) {
    const char *what = argc > 1 ? argv[1] : "chain";
    char a1[32], a2[32];
    if (!strcmp(what, "run")) {
        printf("ran, pid the same: %d\n", argc > 2 && atoi(argv[2]) == getpid());
        return 0;
    }
    snprintf(a1, sizeof a1, "%d", getpid());
    if (!strcmp(what, "old")) {
        probe(strtoul(argv[2], NULL, 16), "libc's code");
        probe(strtoul(argv[3], NULL, 16), "the program's code");
        return 0;
    }
    if (!strcmp(what, "probe")) {
        snprintf(a1, sizeof a1, "%lx", (unsigned long)(void *)&puts);
        snprintf(a2, sizeof a2, "%lx", (unsigned long)(void *)&main);
        fflush(stdout);
        execl("/proc/self/exe", argv[0], "old", a1, a2, (char *)NULL);
        return 1;
    }
    if (!strcmp(what, "patch")) {
        unsigned long base = getauxval(AT_BASE);
        const ElfW(Ehdr) *eh = (const void *)base;
        unsigned long entry = base + eh->e_entry, page = entry & ~4095UL;
        if (mprotect((void *)page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC))
            return 2;
        memcpy((void *)entry, "\x0f\x0b", 2);
        mprotect((void *)page, 4096, PROT_READ | PROT_EXEC);
    }
    if (!strcmp(what, "deep") && argc > 2 && atoi(argv[2]) > 0) {
        char n[16];
        snprintf(n, sizeof n, "%d", atoi(argv[2]) - 1);
        execl("/proc/self/exe", argv[0], "deep", n, (char *)NULL);
        return 1;
    }
    fflush(stdout);
    execl("/proc/self/exe", argv[0], "run", a1, (char *)NULL);
    return 1;
}
