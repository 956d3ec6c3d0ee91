/* Run with --memory-limit 256M: what the process may commit is bounded as
   Linux's overcommit accounting counts it (private writable and shared
   anonymous memory; PROT_NONE and read-only reservations are free). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define M (1UL << 20)

static void rep(const char *what, int failed) {
    printf("%s: %s\n", what, !failed ? "ok" : errno == ENOMEM ? "ENOMEM" : strerror(errno));
}
#define T(e) do { errno = 0; rep(#e, (long)(e) == -1); } while (0)
#define P(e) do { errno = 0; rep(#e, (e) == MAP_FAILED); } while (0)

int main(int argc, char **argv) {
    const int anon = MAP_PRIVATE | MAP_ANONYMOUS;
    P(mmap(0, 512 * M, PROT_READ | PROT_WRITE, anon, -1, 0));
    P(mmap(0, 300 * M, PROT_READ | PROT_WRITE, anon | MAP_NORESERVE, -1, 0));
    P(mmap(0, 300 * M, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    P(mmap(0, 512 * M, PROT_READ, anon, -1, 0));
    char *r = mmap(0, 1024 * M, PROT_NONE, anon | MAP_NORESERVE, -1, 0);
    rep("reserve 1 GiB PROT_NONE", r == MAP_FAILED);
    T(mprotect(r, 300 * M, PROT_READ | PROT_WRITE));
    T(mprotect(r, 100 * M, PROT_READ | PROT_WRITE));
    r[0] = 1;
    r[100 * M - 1] = 2;
    char *b0 = (char *)syscall(SYS_brk, 0);
    rep("brk + 300M refused", (char *)syscall(SYS_brk, b0 + 300 * M) != b0);
    rep("brk + 1M", (char *)syscall(SYS_brk, b0 + M) != b0 + M);
    syscall(SYS_brk, b0);
    char *g = mremap(r, 100 * M, 300 * M, MREMAP_MAYMOVE);
    rep("mremap 100M -> 300M", g == MAP_FAILED);
    printf("original intact: %d %d\n", r[0], r[100 * M - 1]);
    char *s = mremap(r, 100 * M, 150 * M, 0);
    rep("mremap 100M -> 150M over its own reservation", s == MAP_FAILED);
    T(munmap(r, 1024 * M));
    P(mmap(0, 200 * M, PROT_READ | PROT_WRITE, anon, -1, 0));
    if (argc > 1) {
        char *args[] = {argv[1], 0};
        fflush(stdout);              /* the exec may not return */
        execve(argv[1], args, 0);
        rep("execve of an 8 GiB bss", 1);
    }
    return 0;
}
