/* Memory: brk/sbrk growth and shrink, big malloc, anonymous and file-backed
   mmap, MAP_FIXED, MAP_FIXED_NOREPLACE, mremap grow/move, mprotect,
   madvise(MADV_DONTNEED), munmap errors, /proc/self/maps. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static void rep(const char *what, long r, int err) {
    if (r == -1)
        printf("%s = -1 %s (%d)\n", what, strerror(err), err);
    else
        printf("%s = %ld\n", what, r);
}
#define T(e) do { errno = 0; long r_ = (long)(e); rep(#e, r_, errno); } while (0)
#define OK(p) printf("%s ok: %d\n", #p, (p) != MAP_FAILED)
#define PG 4096L

static int all(const unsigned char *p, long n, int c) {
    for (long i = 0; i < n; i++)
        if (p[i] != c) return 0;
    return 1;
}

static void maps(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) { printf("maps: %s\n", strerror(errno)); return; }
    char line[512];
    int stack = 0, heap = 0, lines = 0, wellformed = 1, exe = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        unsigned long a, b, off;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s %lx", &a, &b, perms, &off) != 4 || a >= b || strlen(perms) != 4)
            wellformed = 0;
        if (strstr(line, "[stack]")) stack++;
        if (strstr(line, "[heap]")) heap++;
        if (strstr(line, "mem_map")) exe++;
    }
    fclose(f);
    printf("maps: well-formed %d, [stack] %d, [heap] %d, exe lines>0 %d, lines>3 %d\n",
           wellformed, stack, heap > 0, exe > 0, lines > 3);
}

int main(void) {
    /* brk through the raw call (musl's sbrk refuses to move the break);
       printf first so libc's own heap use is done before we move it */
    printf("brk test\n");
    char *b0 = (char *)syscall(SYS_brk, 0);
    char *b1 = (char *)syscall(SYS_brk, b0 + 100000);
    printf("brk grew: %d\n", b1 == b0 + 100000);
    memset(b0, 7, 100000);
    char *b2 = (char *)syscall(SYS_brk, b0 + 50000);
    printf("brk shrank: %d, kept bytes: %d\n", b2 == b0 + 50000, all((unsigned char *)b0, 50000, 7));
    b2 = (char *)syscall(SYS_brk, b0 + 200000);
    printf("regrown: %d, tail zero: %d\n", b2 == b0 + 200000,
           all((unsigned char *)b0 + 53248, 200000 - 53248, 0));
    b2 = (char *)syscall(SYS_brk, b0 + (1L << 40));
    printf("absurd brk refused, returns current: %d\n", b2 == b0 + 200000);
    b2 = (char *)syscall(SYS_brk, 1);
    printf("brk(1) refused, returns current: %d\n", b2 == b0 + 200000);
    b2 = (char *)syscall(SYS_brk, b0);
    printf("back to start: %d\n", b2 == b0);
    /* libc's sbrk where it works */
    void *sb = sbrk(0);
    printf("sbrk(0) is the break: %d\n", sb == (void *)b0);

    /* malloc: small on the heap, big through mmap */
    char *small = malloc(100);
    char *bigm = malloc(64 << 20);
    printf("mallocs ok: %d %d\n", small != NULL, bigm != NULL);
    memset(bigm, 1, 64 << 20);
    printf("big block readable: %d\n", bigm[(64 << 20) - 1] == 1);
    free(bigm);
    free(small);
    maps();

    /* anonymous mmap is zeroed */
    unsigned char *a = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    OK(a);
    printf("page aligned: %d, zero: %d\n", ((uintptr_t)a & (PG - 1)) == 0, all(a, 3 * PG, 0));
    memset(a, 0x5a, 3 * PG);

    /* madvise DONTNEED on private anonymous memory gives zero pages */
    T(madvise(a + PG, PG, MADV_DONTNEED));
    printf("after DONTNEED: first kept %d, middle zero %d, last kept %d\n",
           all(a, PG, 0x5a), all(a + PG, PG, 0), all(a + 2 * PG, PG, 0x5a));
    T(madvise(a + 1, PG, MADV_DONTNEED));
    T(madvise(a, PG, MADV_WILLNEED));
    T(madvise(a, PG, 12345));

    /* mprotect */
    T(mprotect(a, PG, PROT_READ));
    T(mprotect(a + 1, PG, PROT_READ));
    T(mprotect(a, PG, 0x100));
    T(mprotect(a, 3 * PG, PROT_READ | PROT_WRITE));
    a[0] = 1;

    /* MAP_FIXED replaces; MAP_FIXED_NOREPLACE refuses */
    unsigned char *f = mmap(a + PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("MAP_FIXED at the address: %d, fresh zero: %d, neighbours kept: %d\n",
           f == a + PG, all(f, PG, 0), all(a + 2 * PG, PG, 0x5a));
    void *nr = mmap(a + PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("NOREPLACE over a mapping: failed %d errno %s\n", nr == MAP_FAILED, strerror(errno));
    T(munmap(a + PG, PG));
    nr = mmap(a + PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("NOREPLACE into the hole: at the address %d\n", nr == a + PG);
    nr = mmap(a + 1, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("MAP_FIXED unaligned: failed %d errno %s\n", nr == MAP_FAILED, strerror(errno));

    /* argument errors */
    void *e = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("length 0: %s\n", e == MAP_FAILED ? strerror(errno) : "mapped");
    e = mmap(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0);
    printf("neither shared nor private: %s\n", e == MAP_FAILED ? strerror(errno) : "mapped");
    e = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, 999, 0);
    printf("bad fd: %s\n", e == MAP_FAILED ? strerror(errno) : "mapped");
    e = mmap(NULL, (size_t)-PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("huge: %s\n", e == MAP_FAILED ? strerror(errno) : "mapped");
    int pp[2];
    pipe(pp);
    e = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, pp[0], 0);
    printf("pipe read end: %s\n", e == MAP_FAILED ? strerror(errno) : "mapped");
    e = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, pp[1], 0);
    printf("pipe write end: %s\n", e == MAP_FAILED ? strerror(errno) : "mapped");
    close(pp[0]);
    close(pp[1]);
    int dd = open(".", O_RDONLY | O_DIRECTORY);
    e = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, dd, 0);
    printf("directory: %s\n", e == MAP_FAILED ? strerror(errno) : "mapped");
    close(dd);
    dd = open("/dev/zero", O_RDWR);
    unsigned char *z = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, dd, 0);
    printf("/dev/zero: %d zero %d\n", z != MAP_FAILED, z != MAP_FAILED && all(z, PG, 0));
    close(dd);
    e = mmap((char *)a + 123, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("unaligned hint: %d\n", e != MAP_FAILED);
    T(munmap(a + 1, PG));
    T(munmap(a, 0));
    T(munmap(NULL, PG));        /* nothing mapped there: fine */

    /* file-backed MAP_PRIVATE: content visible, writes stay private */
    int fd = open("file.bin", O_CREAT | O_RDWR | O_TRUNC, 0644);
    char content[6000];
    for (int i = 0; i < 6000; i++) content[i] = 'A' + i % 26;
    write(fd, content, sizeof content);
    char *m = mmap(NULL, 6000, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    OK(m);
    printf("file content visible: %d, tail of last page zero: %d\n",
           memcmp(m, content, 6000) == 0, all((unsigned char *)m + 6000, 8192 - 6000, 0));
    m[0] = '#';
    char first;
    pread(fd, &first, 1, 0);
    printf("private write not in file: %d\n", first == 'A');
    char *m2 = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, PG);
    printf("offset map sees byte 4096: %d\n", m2 != MAP_FAILED && m2[0] == content[4096]);
    void *m3 = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 100);
    printf("unaligned offset: %s\n", m3 == MAP_FAILED ? strerror(errno) : "mapped");
    int wo = open("file.bin", O_WRONLY);
    m3 = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, wo, 0);
    printf("write-only fd: %s\n", m3 == MAP_FAILED ? strerror(errno) : "mapped");
    close(wo);
    int ro = open("file.bin", O_RDONLY);
    m3 = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
    printf("shared writable on read-only fd: %s\n", m3 == MAP_FAILED ? strerror(errno) : "mapped");
    m3 = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
    printf("private writable on read-only fd: %d\n", m3 != MAP_FAILED);
    close(ro);
    close(fd);
    printf("mapping outlives the fd: %d\n", m[1] == 'B');
    T(munmap(m, 6000));
    T(munmap(m2, PG));

    /* mremap: grow in place or move, contents kept */
    unsigned char *g = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(g, 0x33, 2 * PG);
    /* block growth in place with a neighbour */
    mmap(g + 2 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    void *nm = mremap(g, 2 * PG, 8 * PG, 0);
    printf("grow without MAYMOVE: %s\n", nm == MAP_FAILED ? strerror(errno) : "grew");
    unsigned char *mv = mremap(g, 2 * PG, 8 * PG, MREMAP_MAYMOVE);
    printf("moved: %d, contents kept: %d, new part zero: %d\n", mv != g,
           all(mv, 2 * PG, 0x33), all(mv + 2 * PG, 6 * PG, 0));
    unsigned char *sh = mremap(mv, 8 * PG, PG, 0);
    printf("shrink in place: %d, kept: %d\n", sh == mv, all(sh, PG, 0x33));
    unsigned char *fx = mmap(NULL, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(fx, 4 * PG);
    unsigned char *to = mremap(sh, PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, fx + PG);
    printf("MREMAP_FIXED to the address: %d, kept: %d\n", to == fx + PG, all(to, PG, 0x33));
    nm = mremap(to, PG, 2 * PG, MREMAP_FIXED, fx);
    printf("FIXED without MAYMOVE: %s\n", nm == MAP_FAILED ? strerror(errno) : "moved");
    nm = mremap((char *)to + 1, PG, 2 * PG, 0);
    printf("unaligned old: %s\n", nm == MAP_FAILED ? strerror(errno) : "moved");
    nm = mremap(to, 0, 2 * PG, MREMAP_MAYMOVE);
    printf("old size 0 on private: %s\n", nm == MAP_FAILED ? strerror(errno) : "copied");
    nm = mremap(fx + 100 * PG, PG, 2 * PG, MREMAP_MAYMOVE);
    printf("unmapped old: %s\n", nm == MAP_FAILED ? strerror(errno) : "moved");
    /* grow in place into free space */
    unsigned char *ip = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(ip + 4 * PG, 12 * PG);
    memset(ip, 9, 4 * PG);
    unsigned char *ip2 = mremap(ip, 4 * PG, 12 * PG, 0);
    printf("grew in place: %d, kept %d, new zero %d\n", ip2 == ip, all(ip, 4 * PG, 9),
           all(ip + 4 * PG, 8 * PG, 0));
    /* a file mapping grown in place keeps mapping the file */
    fd = open("file.bin", O_RDONLY);
    unsigned char *fm = mmap(NULL, 16 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
    munmap(fm + PG, 15 * PG);
    unsigned char *fm2 = mremap(fm, PG, 2 * PG, 0);
    printf("file mapping grew: %d, second page is file: %d\n", fm2 == fm,
           fm2 != MAP_FAILED && memcmp(fm2 + PG, content + PG, 6000 - PG) == 0);
    close(fd);

    /* MAP_SHARED anonymous */
    unsigned char *s = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    OK(s);
    s[10] = 10;
    printf("shared anon works: %d\n", s[10] == 10);

    /* MAP_SHARED of a file: writes reach the file */
    fd = open("shared.bin", O_CREAT | O_RDWR | O_TRUNC, 0644);
    ftruncate(fd, PG);
    char *sm = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    OK(sm);
    memcpy(sm, "written through the map", 23);
    msync(sm, PG, MS_SYNC);
    munmap(sm, PG);
    char back[32] = {0};
    pread(fd, back, 23, 0);
    printf("shared file mapping wrote: '%s'\n", back);
    close(fd);
    maps();
    printf("done\n");
    return 0;
}
