/* Self-modifying code: a guest that writes code and runs it, rewrites it
   (by a store, by read(2) into it, after MADV_DONTNEED, after mremap moves
   it, after mprotect back and forth) and runs it again sees the new code. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG 4096UL

static void put(unsigned char *p, int v) {
    p[0] = 0xb8;                       /* mov $v, %eax; ret */
    memcpy(p + 1, &v, 4);
    p[5] = 0xc3;
}

static int run(unsigned char *p) { return ((int (*)(void))p)(); }

int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    unsigned char *p = mmap(0, 4 * PG, PROT_READ | PROT_WRITE | PROT_EXEC,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    put(p, 1);
    printf("first: %d\n", run(p));
    put(p, 2);
    printf("stored: %d\n", run(p));
    unsigned char code[6];
    put(code, 3);
    int fd[2];
    pipe(fd);
    write(fd[1], code, 6);
    read(fd[0], p, 6);
    printf("read into: %d\n", run(p));
    madvise(p, PG, MADV_DONTNEED);
    put(p, 4);
    printf("after dontneed: %d\n", run(p));
    mprotect(p, PG, PROT_READ | PROT_WRITE);
    put(p, 5);
    mprotect(p, PG, PROT_READ | PROT_EXEC);
    printf("after mprotect: %d\n", run(p));
    mprotect(p, PG, PROT_READ | PROT_WRITE);
    put(code, 8);
    write(fd[1], code, 6);
    read(fd[0], p, 6);
    mprotect(p, PG, PROT_READ | PROT_EXEC);
    printf("read while not executable: %d\n", run(p));
    mprotect(p, PG, PROT_READ | PROT_WRITE | PROT_EXEC);
    unsigned char *q = mremap(p, 4 * PG, 8 * PG, MREMAP_MAYMOVE);
    printf("moved: %d\n", run(q));
    put(q, 6);
    printf("moved and stored: %d\n", run(q));
    unsigned char *r = mmap(p, PG, PROT_READ | PROT_WRITE | PROT_EXEC,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    put(r, 7);
    printf("old place, new code: %d\n", run(r));
    return 0;
}
