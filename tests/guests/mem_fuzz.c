/* Random memory calls inside a region the program owns, from a seeded
   generator: mmap (anonymous, shared, a file's pages, private or shared),
   munmap, mprotect, madvise, mremap, and loads and stores that may fault.
   Every result (errno, value read, SIGSEGV or SIGBUS) and the region's
   /proc/self/maps lines are printed, to be compared with the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096UL
#define NPAGES 64

static char *base;
static sigjmp_buf jb;
static volatile int sig;
static uint64_t state;

static unsigned rnd(unsigned n) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(state >> 33) % n;
}

static void on_fault(int s) { sig = s; siglongjmp(jb, 1); }

static void res(const char *what, long r) {
    if (r == -1)
        printf("%s: %s\n", what, strerror(errno));
    else
        printf("%s: ok\n", what);
}

/* The region's mappings, adjacent ones with the same permissions joined
   (whether Linux merged two VMAs is its own business). Read with read(2)
   into a static buffer: stdio would map memory of its own somewhere. */
static char mapsbuf[1 << 16];

static void maps(void) {
    int fd = open("/proc/self/maps", O_RDONLY);
    long n = 0, r;
    while ((r = read(fd, mapsbuf + n, sizeof mapsbuf - 1 - n)) > 0) n += r;
    close(fd);
    mapsbuf[n] = 0;
    char last[8] = "";
    long lo = -1, hi = -1;
    for (char *line = mapsbuf; *line; line = strchr(line, '\n') + 1) {
        unsigned long a, b;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &a, &b, perms) == 3 &&
            a < (unsigned long)base + NPAGES * PG && b > (unsigned long)base) {
            long s = ((long)a - (long)base) / (long)PG, e = ((long)b - (long)base) / (long)PG;
            if (s == hi && !strcmp(perms, last)) {
                hi = e;
            } else {
                if (lo >= 0) printf("  map %3ld-%3ld %s\n", lo, hi, last);
                lo = s, hi = e;
                strcpy(last, perms);
            }
        }
        if (!strchr(line, '\n')) break;
    }
    if (lo >= 0) printf("  map %3ld-%3ld %s\n", lo, hi, last);
}

int main(int argc, char **argv) {
    setvbuf(stdout, 0, _IONBF, 0);
    state = argc > 1 ? strtoull(argv[1], 0, 0) : 1;
    int steps = argc > 2 ? atoi(argv[2]) : 200;
    struct sigaction sa = {.sa_handler = on_fault, .sa_flags = SA_NODEFER};
    sigaction(SIGSEGV, &sa, 0);
    sigaction(SIGBUS, &sa, 0);
    char name[] = "fuzzXXXXXX";
    int fd = mkstemp(name);
    unlink(name);
    ftruncate(fd, 5 * PG + 100);
    base = mmap(0, NPAGES * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    const int prots[] = {PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE, PROT_WRITE,
                         PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE | PROT_EXEC};
    char what[128];
    for (int i = 0; i < steps; i++) {
        unsigned at = rnd(NPAGES), n = 1 + rnd(8), op = rnd(13);
        if (at + n > NPAGES) n = NPAGES - at;
        char *p = base + at * PG;
        int prot = prots[rnd(6)];
        switch (op) {
        case 0: case 1: {
            int kind = rnd(4);
            int flags = MAP_FIXED | (kind & 1 ? MAP_SHARED : MAP_PRIVATE) |
                        (kind < 2 ? MAP_ANONYMOUS : 0);
            off_t off = kind < 2 ? 0 : rnd(4) * PG;
            snprintf(what, sizeof what, "mmap %u+%u prot %d kind %d off %ld", at, n, prot,
                     kind, (long)off / 4096);
            res(what, mmap(p, n * PG, prot, flags, kind < 2 ? -1 : fd, off) == MAP_FAILED ? -1 : 0);
            break;
        }
        case 2:
            snprintf(what, sizeof what, "munmap %u+%u", at, n);
            res(what, munmap(p, n * PG));
            break;
        case 3:
            snprintf(what, sizeof what, "mprotect %u+%u %d", at, n, prot);
            res(what, mprotect(p, n * PG, prot));
            break;
        case 4:
            snprintf(what, sizeof what, "madvise %u+%u", at, n);
            res(what, madvise(p, n * PG, MADV_DONTNEED));
            break;
        case 5: {
            unsigned m = 1 + rnd(8), to = rnd(NPAGES);
            if (to + m > NPAGES) m = NPAGES - to;
            int fixed = rnd(2);
            snprintf(what, sizeof what, "mremap %u+%u -> %u %s", at, n, m,
                     fixed ? "fixed" : "in place");
            char *r = fixed ? mremap(p, n * PG, m * PG, MREMAP_MAYMOVE | MREMAP_FIXED,
                                     base + to * PG)
                            : mremap(p, n * PG, m * PG, 0);
            if (r != MAP_FAILED && r != p && r != base + to * PG) printf("moved elsewhere\n");
            res(what, r == MAP_FAILED ? -1 : 0);
            if (r != MAP_FAILED && fixed) printf("  at %ld\n", (long)(r - base) / (long)PG);
            break;
        }
        case 6:
            snprintf(what, sizeof what, "truncate %u", n);
            res(what, ftruncate(fd, n * PG - 50));
            break;
        case 7: {
            /* A child stores into a page: the parent sees it only where
               the page is shared. */
            unsigned off = rnd(NPAGES * PG);
            pid_t pid = fork();
            if (pid == 0) {
                if (sigsetjmp(jb, 1) == 0) {
                    ((volatile char *)base)[off] = 99;
                    printf("child store %u.%u: ok\n", off / 4096, off % 4096);
                } else {
                    printf("child store %u.%u: signal %d\n", off / 4096, off % 4096, sig);
                }
                _exit(0);
            }
            waitpid(pid, 0, 0);
            if (sigsetjmp(jb, 1) == 0)
                printf("parent load %u.%u: %d\n", off / 4096, off % 4096, ((volatile char *)base)[off]);
            else
                printf("parent load %u.%u: signal %d\n", off / 4096, off % 4096, sig);
            break;
        }
        default: {
            unsigned off = rnd(NPAGES * PG);
            int store = op >= 9;
            sig = 0;
            if (sigsetjmp(jb, 1) == 0) {
                if (store)
                    ((volatile char *)base)[off] = (char)(i + 1);
                int v = ((volatile char *)base)[off];
                printf("%s %u.%u: %d\n", store ? "store" : "load", off / 4096, off % 4096, v);
            } else {
                printf("%s %u.%u: signal %d\n", store ? "store" : "load", off / 4096,
                       off % 4096, sig);
            }
        }
        }
        if (i % 25 == 24) maps();
    }
    maps();
    return 0;
}
