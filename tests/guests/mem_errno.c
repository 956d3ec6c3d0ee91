/* Memory calls Linux refuses, and what is left after a refusal: mmap below
   mmap_min_addr, lengths that wrap, mremap failures (the original mapping
   must survive them), the vvar page's protection. Compared with the native
   run. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#define PG 4096UL

static void rep(const char *what, long r) {
    if (r == -1)
        printf("%s = -1 %s\n", what, strerror(errno));
    else
        printf("%s = ok\n", what);
}
#define T(e) do { errno = 0; long r_ = (long)(e); rep(#e, r_); } while (0)
#define M(e) do { errno = 0; void *r_ = (e); rep(#e, r_ == MAP_FAILED ? -1 : 0); } while (0)

static char *vvar(size_t *len) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    char *at = 0;
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "[vvar]") && !at) {
            char *end;
            at = (char *)strtoul(line, &end, 16);
            *len = strtoul(end + 1, 0, 16) - (unsigned long)at;
        }
    if (f) fclose(f);
    return at;
}

int main(void) {
    const int prw = PROT_READ | PROT_WRITE, anon = MAP_PRIVATE | MAP_ANONYMOUS;
    /* Below mmap_min_addr: EPERM unless the caller has CAP_SYS_RAWIO (root
       natively, and so under sysgate too). */
    void *z = mmap(0, PG, prw, anon | MAP_FIXED, -1, 0);
    printf("MAP_FIXED at 0: %s\n", z == MAP_FAILED ? strerror(errno) : "mapped");
    if (z != MAP_FAILED) munmap(z, PG);
    char *h = mmap((void *)0x1000, PG, prw, anon, -1, 0);
    printf("hint below the minimum rounds up: %d\n", h != MAP_FAILED && (uintptr_t)h >= 0x10000);
    M(mmap(0, -PG, prw, anon, -1, 0));
    M(mmap(0, 0, prw, anon, -1, 0));

    char *p = mmap(0, 4 * PG, prw, anon, -1, 0);
    memset(p, 'x', 4 * PG);
    T(munmap(p + 3 * PG, PG));
    T(munmap(p, -PG));
    T(mprotect(p, -PG, PROT_READ));
    T(madvise(p, -PG, MADV_DONTNEED));
    T(madvise(p + PG, 0, MADV_DONTNEED));
    printf("kept after refusals: %d\n", p[0] == 'x' && p[2 * PG] == 'x');

    /* mremap: each refusal leaves the mapping as it was. */
    size_t huge = sizeof(long) == 8 ? (size_t)1 << 40 : 0xF0000000UL;
    M(mremap(p, 3 * PG, huge, MREMAP_MAYMOVE));
    M(mremap(p, 3 * PG, huge, 0));
    char *q = mmap(p + 3 * PG, PG, PROT_READ, anon | MAP_FIXED, -1, 0);
    M(mremap(p, 3 * PG, 5 * PG, 0));
    M(mremap(p + 1, PG, PG, 0));
    M(mremap(p, 0, PG, MREMAP_MAYMOVE));
    M(mremap(p, PG, 0, MREMAP_MAYMOVE));
    M(mremap(p, 8 * PG, 9 * PG, MREMAP_MAYMOVE));
    M(mremap(p, PG, 2 * PG, MREMAP_FIXED));
    M(mremap(p, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, p + PG));
    M(mremap(p, PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP));
    M(mremap(p, PG, PG, 8));
    M(mremap((char *)0x10123000, PG, PG, 0));
    printf("kept after mremap refusals: %d %d\n", p[0] == 'x' && p[2 * PG] == 'x', q[0] == 0);
    char *r = mremap(p, 3 * PG, 6 * PG, MREMAP_MAYMOVE);
    printf("moved: %d, kept: %d, tail zero: %d\n", r != p, r[0] == 'x' && r[2 * PG] == 'x',
           r[5 * PG] == 0);
    /* The vvar page is a special mapping without VM_MAYWRITE/VM_MAYEXEC. */
    size_t vlen = 0;
    char *vv = vvar(&vlen);
    if (vv) {
        T(mprotect(vv, PG, PROT_READ | PROT_WRITE));
        T(mprotect(vv, PG, PROT_READ | PROT_EXEC));
        T(mprotect(vv, PG, PROT_READ));
        T(madvise(vv, PG, MADV_DONTNEED));
    } else {
        printf("no vvar\n");
    }
    struct timespec ts;
    pid_t pid = fork();
    if (pid == 0) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        _exit(ts.tv_sec >= 0 ? 7 : 8);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("child's clock: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    /* The whole vvar mapping may go; the kernel keeps its data up to date
       all the same (the vDSO's clock would fault now: system calls only). */
    if (vv) {
        T(munmap(vv, vlen));
        T(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts));
        T(syscall(SYS_getpid) > 0);
    }
    return 0;
}
