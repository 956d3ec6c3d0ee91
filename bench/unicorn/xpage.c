/* A direct jump from one page into another, run until chained; then the
 * target page loses PROT_EXEC / is unmapped / is rewritten: the next call
 * must see the change (SIGSEGV at the target, or the new code). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <setjmp.h>

static sigjmp_buf jb;
static void on_segv(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    printf("signal %d at %s\n", sig, si->si_addr ? "target" : "?");
    siglongjmp(jb, 1);
}

static unsigned char *p1, *p2;
static void setup(void) {
    p1 = mmap(0, 4096, PROT_READ|PROT_WRITE|PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
    p2 = mmap(0, 4096, PROT_READ|PROT_WRITE|PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
    /* p1: mov eax, 1 ; jmp p2 */
    p1[0] = 0xb8; p1[1] = 1; p1[2] = p1[3] = p1[4] = 0;
    p1[5] = 0xe9; int rel = (int)(p2 - (p1 + 10)); memcpy(p1 + 6, &rel, 4);
    /* p2: add eax, 6 ; ret */
    p2[0] = 0x83; p2[1] = 0xc0; p2[2] = 6; p2[3] = 0xc3;
}
static int call(void) { return ((int (*)(void))p1)(); }

int main(void) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_segv; sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, 0);
    long s = 0;
    for (int mode = 0; mode < 4; mode++) {
        setup();
        for (int i = 0; i < 1000; i++) s += call();
        if (mode == 0) mprotect(p2, 4096, PROT_READ);
        if (mode == 1) munmap(p2, 4096);
        if (mode == 2) p2[2] = 40;                       /* rewrite in place */
        if (mode == 3) { mprotect(p2, 4096, PROT_READ|PROT_WRITE); p2[2] = 50;
                         mprotect(p2, 4096, PROT_READ|PROT_EXEC); }
        if (sigsetjmp(jb, 1) == 0)
            printf("mode %d: %d\n", mode, call());
    }
    printf("sum %ld\n", s);
    return 0;
}
