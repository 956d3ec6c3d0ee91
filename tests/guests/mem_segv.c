/* Faults: touching unmapped or protected memory kills with SIGSEGV, after
   output written with write(2) (stdio buffers die with the process). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void say(const char *s) { write(1, s, strlen(s)); }

int main(int argc, char **argv) {
    const char *what = argc > 1 ? argv[1] : "munmap";
    long pg = 4096;
    char *p = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 1, 3 * pg);
    if (!strcmp(what, "munmap")) {
        munmap(p + pg, pg);
        say("before\n");
        p[0] = p[2 * pg];                /* still mapped on both sides */
        say("neighbours fine\n");
        *(volatile char *)(p + pg) = 2;
    } else if (!strcmp(what, "readonly")) {
        mprotect(p, 3 * pg, PROT_READ);
        say("read works\n");
        if (*(volatile char *)(p + pg) != 1) say("bad value\n");
        *(volatile char *)(p + pg) = 2;
    } else if (!strcmp(what, "none")) {
        mprotect(p + 2 * pg, pg, PROT_NONE);
        say("before read\n");
        (void)*(volatile char *)(p + 2 * pg);
    } else if (!strcmp(what, "exec")) {
        p[0] = (char)0xc3;               /* ret, in a page without PROT_EXEC */
        say("before call\n");
        ((void (*)(void))p)();
    } else if (!strcmp(what, "mremap")) {
        char *q = mremap(p, 3 * pg, 6 * pg, MREMAP_MAYMOVE | MREMAP_FIXED,
                         mmap(NULL, 6 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        say(q[2 * pg] == 1 ? "moved\n" : "lost\n");
        *(volatile char *)p = 0;          /* the old place is gone */
    } else if (!strcmp(what, "brk")) {
        char *b = sbrk(0);
        if (brk(b + 3 * pg) == 0 && brk(b) == 0) {
            say("shrunk\n");
            *(volatile char *)(b + pg) = 1;
        } else {
            say("no brk\n");
            *(volatile char *)0 = 1;
        }
    } else if (!strcmp(what, "null")) {
        say("null\n");
        *(volatile int *)8 = 1;
    }
    say("survived\n");
    return 0;
}
