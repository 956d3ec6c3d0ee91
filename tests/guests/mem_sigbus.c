/* SIGBUS: a file mapping's pages wholly past the end of the file.
 *
 * Each probe touches one address with a SA_SIGINFO handler installed and
 * reports what happened: the value read, or the signal, si_code, si_addr
 * (relative to the mapping) and the trap number and error code of the
 * sigcontext. It covers private and shared mappings, reads, writes and
 * instruction fetches; the file growing after mmap (the page then maps) and
 * shrinking (pages past the new end go, private copies included, as
 * truncate does); system calls handed such a buffer (EFAULT); mremap past
 * the end; and a child after fork. With "die" the last probe has no
 * handler: the default action kills with SIGBUS. */
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define PG 4096L

#ifdef __x86_64__
#define IP_REG REG_RIP
#else
#define IP_REG REG_EIP
#endif

static sigjmp_buf env;
static volatile siginfo_t got;
static volatile long got_trapno, got_err;
static volatile uintptr_t got_ip;

static void on_fault(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *uc = ctx;
    (void)sig;
    got = *si;
    got_trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
    got_err = uc->uc_mcontext.gregs[REG_ERR];
    got_ip = uc->uc_mcontext.gregs[IP_REG];
    siglongjmp(env, 1);
}

enum { READ, WRITE, EXEC };

static void probe(const char *what, char *base, long off, int how) {
    volatile char *p = base + off;
    printf("%-28s ", what);
    fflush(stdout);
    if (sigsetjmp(env, 1)) {
        printf("signal %d code %d addr=base%+ld trapno=%ld err=%#lx ip=%s\n", got.si_signo,
               got.si_code, (long)((char *)got.si_addr - base), got_trapno, got_err,
               got_ip == (uintptr_t)p ? "addr" : "elsewhere");
        return;
    }
    if (how == READ)
        printf("read %d\n", *p);
    else if (how == WRITE) {
        *p = 7;
        printf("wrote\n");
    } else {
        ((void (*)(void))p)();
        printf("returned\n");
    }
}

static int make_file(const char *name, long size, int fill) {
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    char *buf = malloc(size);
    memset(buf, fill, size);
    if (fd < 0 || write(fd, buf, size) != size) {
        perror(name);
        exit(2);
    }
    free(buf);
    return fd;
}

static long size_of(int fd) {
    struct stat st;
    fstat(fd, &st);
    return st.st_size;
}

int main(int argc, char **argv) {
    int die = argc > 1 && !strcmp(argv[1], "die");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);

    /* A file of one page and 100 bytes, mapped three pages long. */
    int fd = make_file("sigbus.dat", PG + 100, 'x');
    char *priv = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE, fd, 0);
    char *shr = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (priv == MAP_FAILED || shr == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    probe("private in file", priv, 5, READ);
    probe("private tail of last page", priv, PG + 100, READ);
    probe("private past end read", priv, 2 * PG, READ);
    probe("private past end write", priv, 2 * PG + 8, WRITE);
    probe("private past end exec", priv, 2 * PG + 16, EXEC);
    probe("shared in file", shr, PG + 99, READ);
    probe("shared tail write", shr, PG + 200, WRITE);
    printf("file size after tail write: %ld\n", size_of(fd));
    probe("shared past end read", shr, 2 * PG + 4000, READ);
    probe("shared past end write", shr, 2 * PG, WRITE);

    /* System calls given such a buffer: EFAULT. */
    int pfd[2];
    pipe(pfd);
    ssize_t n = write(pfd[1], shr + 2 * PG, 10);
    printf("write from past end: %zd errno %d\n", n, n < 0 ? errno : 0);
    n = pread(fd, priv + 2 * PG, 10, 0);
    printf("read into past end: %zd errno %d\n", n, n < 0 ? errno : 0);
    printf("read across the end: %zd\n", pread(fd, shr + 2 * PG - 10, 20, 0));
    printf("write across the end: %zd\n", write(pfd[1], shr + 2 * PG - 10, 20));

    /* The file grows: the pages map, with the file's bytes. */
    if (ftruncate(fd, 3 * PG) != 0)
        perror("ftruncate");
    probe("private after growing", priv, 2 * PG, READ);
    probe("shared after growing", shr, 2 * PG, WRITE);
    char c = 0;
    pread(fd, &c, 1, 2 * PG);
    printf("file sees the shared store: %d\n", c);
    probe("private written", priv, 5, WRITE);

    /* The file shrinks to 100 bytes: every page past it goes, the private
     * copy of page 1 too (truncate unmaps even COWed pages). */
    probe("private page 1 written", priv, PG + 1, WRITE);
    if (ftruncate(fd, 100) != 0)
        perror("ftruncate");
    probe("private page 0 kept", priv, 5, READ);
    probe("private page 1 after shrink", priv, PG + 1, READ);
    probe("shared page 0 tail", shr, 200, READ);
    probe("shared page 1 after shrink", shr, PG, READ);
    probe("shared page 2 after shrink", shr, 2 * PG, WRITE);

    /* mremap past the end of a one-page file. */
    int fd2 = make_file("sigbus2.dat", PG, 'y');
    char *m = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd2, 0);
    char *grown = mremap(m, PG, 2 * PG, MREMAP_MAYMOVE);
    probe("mremap in file", grown, PG - 1, READ);
    probe("mremap past end", grown, PG, READ);

    /* A private mapping reaching past the end is one mapping: it moves
     * whole, its pages past the end still past the end, and /proc/self/maps
     * shows it as one line. */
    char *pm = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE, fd2, 0);
    char *moved = mremap(pm, 2 * PG, 3 * PG, MREMAP_MAYMOVE);
    printf("mremap private: %s\n", moved == MAP_FAILED ? strerror(errno) : "moved");
    if (moved != MAP_FAILED) {
        probe("moved in file", moved, PG - 1, READ);
        probe("moved past end", moved, PG, READ);
        probe("moved, grown part", moved, 2 * PG, READ);
        FILE *maps = fopen("/proc/self/maps", "r");
        char line[512];
        int lines = 0;
        unsigned long lo, hi;
        while (fgets(line, sizeof line, maps))
            if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo < (uintptr_t)moved + 3 * PG
                    && hi > (uintptr_t)moved)
                printf("maps line %d: %ld pages\n", ++lines, (long)(hi - lo) / PG);
        fclose(maps);
    }

    /* mprotect leaves a page past the end a page past the end. */
    char *q = mmap(NULL, 2 * PG, PROT_NONE, MAP_PRIVATE, fd2, 0);
    mprotect(q, 2 * PG, PROT_READ);
    probe("mprotect in file", q, 0, READ);
    probe("mprotect past end", q, PG, READ);

    /* madvise(DONTNEED) drops a private page: it reads the file again. */
    char *r = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd2, 0);
    r[0] = 'z';
    madvise(r, 2 * PG, MADV_DONTNEED);
    probe("after DONTNEED", r, 0, READ);
    probe("after DONTNEED past end", r, PG, READ);

    /* A child sees the same. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        probe("child past end", shr, PG, READ);
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child status %#x\n", status);

    if (die) {
        signal(SIGBUS, SIG_DFL);
        printf("dying\n");
        fflush(stdout);
        *(volatile char *)(shr + PG) = 1;
        printf("survived\n");
    }
    unlink("sigbus.dat");
    unlink("sigbus2.dat");
    return 0;
}
