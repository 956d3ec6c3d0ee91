/* After an exec that keeps the CPU (kernel/keepinterp), the old image's
 * code regions stay in Unicorn out of the guest's sight. The new image
 * must find nothing there, in every way Linux answers for:
 *   (no argument)  exec "probe LIBC PROG 0" with a page of libc's code and
 *                  one of this program's
 *   probe A B N    (re-exec while A or B happens to be mapped again, which
 *                  i386's 8 bits of ASLR make likely enough) loads, stores,
 *                  calls, write(2), /proc/self/mem, process_vm_readv,
 *                  msync, madvise, mprotect, mincore, mremap, munmap; then
 *                  a new mapping over one page of each: its code runs, the
 *                  rest of the old region is still nothing
 *   mapfile        map a page of this program's file where nothing else
 *                  goes (ASLR cannot collide), run code there, then exec
 *                  "fixed ADDR": the same probe there
 *   traced         a child does "mapfile"'s exec, then stops for its
 *                  parent, which looks there with ptrace, process_vm_*v
 *                  and /proc/PID/mem */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <sys/auxv.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static sigjmp_buf back;
static volatile int code;
static volatile unsigned long addr;

static void on_segv(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    code = sig * 100 + si->si_code;
    addr = (unsigned long)si->si_addr;
    siglongjmp(back, 1);
}

static int mapped(unsigned long a) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int hit = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long s, e;
        if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s < a + 8192 && a < e)
            hit = 1;
    }
    fclose(f);
    return hit;
}

#define SHOW(what, expr) do { errno = 0; long r_ = (long)(expr); \
    printf("  %s: %ld %s\n", what, r_, r_ < 0 ? strerror(errno) : ""); } while (0)

static void access_(unsigned long a, int how) {
    code = 0, addr = 0;
    if (!sigsetjmp(back, 1)) {
        if (how == 0)
            (void)*(volatile char *)a;
        else if (how == 1)
            *(volatile char *)a = 1;
        else
            ((void (*)(void))a)();
    }
    printf("  %s: signal code %d at the address %d\n", how == 0 ? "load" : how == 1 ? "store" :
           "call", code, addr == a);
}

static void probe(unsigned long a, const char *what) {
    printf("%s\n", what);
    access_(a, 0);
    access_(a, 1);
    access_(a, 2);
    int p[2];
    if (pipe(p))
        return;
    SHOW("write", write(p[1], (void *)a, 16));
    close(p[0]), close(p[1]);
    int mem = open("/proc/self/mem", O_RDONLY);
    char buf[16];
    SHOW("/proc/self/mem", pread(mem, buf, sizeof buf, (off_t)a));
    close(mem);
    struct iovec l = {buf, sizeof buf}, r = {(void *)a, sizeof buf};
    SHOW("process_vm_readv", process_vm_readv(getpid(), &l, 1, &r, 1, 0));
    SHOW("futex", syscall(SYS_futex, (void *)(a & ~3UL), FUTEX_WAIT, 0, NULL, NULL, 0));
    /* a signal frame on an alternate stack there: SIGSEGV, as Linux */
    pid_t pid = fork();
    if (pid == 0) {
        stack_t ss = {.ss_sp = (void *)(a & ~4095UL), .ss_size = 4096};
        struct sigaction su = {0};
        su.sa_handler = (void (*)(int))_exit;
        su.sa_flags = SA_ONSTACK;
        sigaction(SIGSEGV, &(struct sigaction){.sa_handler = SIG_DFL}, NULL);
        if (sigaltstack(&ss, NULL) || sigaction(SIGUSR1, &su, NULL))
            _exit(3);
        raise(SIGUSR1);
        _exit(4);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("  a frame there: signaled %d signal %d\n", WIFSIGNALED(st), WTERMSIG(st));
    SHOW("msync", msync((void *)(a & ~4095UL), 4096, MS_ASYNC));
    SHOW("madvise", madvise((void *)(a & ~4095UL), 4096, MADV_WILLNEED));
    SHOW("mprotect", mprotect((void *)(a & ~4095UL), 4096, PROT_READ));
    unsigned char vec;
    SHOW("mincore", mincore((void *)(a & ~4095UL), 4096, &vec));
    SHOW("mremap", mremap((void *)(a & ~4095UL), 4096, 8192, 0) == MAP_FAILED ? -1 : 0);
    SHOW("munmap", munmap((void *)(a & ~4095UL), 4096));
    /* a page of new code over the first: it runs, not what was there */
    int fixed = what[0] == 't' ? MAP_FIXED : MAP_FIXED_NOREPLACE;
    unsigned long page = a & ~4095UL;
    void *m = mmap((void *)page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | fixed, -1, 0);
    printf("  mmap there: %d\n", m == (void *)page);
    if (m == (void *)page) {
        static const unsigned char ret9[] = {0xb8, 9, 0, 0, 0, 0xc3};     /* mov eax, 9; ret */
        memcpy((void *)a, ret9, sizeof ret9);
        printf("  its code: %d\n", ((int (*)(void))a)());
    }
    unsigned long next = page + 4096;
    printf(" the page after\n");
    access_(next, 0);
    access_(next, 2);
    SHOW("mincore", mincore((void *)next, 4096, &vec));
}

/* Translated where the old image maps its own file's code (FIXED_AT):
 * the new image's code at the same address must run instead. */
#define FIXED_AT 0x20000000UL
__attribute__((noinline, used)) int seven(void) { return 7; }

static unsigned long seven_offset(void) {
    const ElfW(Phdr) *ph = (const void *)getauxval(AT_PHDR);
    unsigned long n = getauxval(AT_PHNUM), bias = 0;
    for (unsigned long i = 0; i < n; i++)
        if (ph[i].p_type == PT_PHDR)
            bias = (unsigned long)ph - ph[i].p_vaddr;
    unsigned long v = (unsigned long)(void *)&seven - bias, off = 0;
    for (unsigned long i = 0; i < n; i++)
        if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr <= v && v < ph[i].p_vaddr + ph[i].p_filesz)
            off = ph[i].p_offset + (v - ph[i].p_vaddr);
    return off;
}

static unsigned long seven_elsewhere(void) {
    unsigned long off = seven_offset();
    int fd = open("/proc/self/exe", O_RDONLY);
    void *m = mmap((void *)FIXED_AT, 8192, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, fd,
                   off & ~4095UL);
    close(fd);
    if (m != (void *)FIXED_AT)
        return 0;
    unsigned long at = FIXED_AT + (off & 4095);
    int (*volatile f)(void) = (int (*)(void))at;
    return f() == 7 ? at : 0;
}

int main(int argc, char **argv) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    char a1[32], a2[32], n[16];
    if (argc > 2 && !strcmp(argv[1], "fixed")) {
        probe(strtoul(argv[2], NULL, 16), "the old image's own mapping of its file");
        return 0;
    }
    if (argc > 2 && !strcmp(argv[1], "grow")) {
        /* a mapping just below grows in place over it */
        unsigned long a = strtoul(argv[2], NULL, 16);
        void *m = mmap((void *)(FIXED_AT - 4096), 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        void *r = mremap(m, 4096, 3 * 4096, 0);
        printf("grown in place: %d\n", r == m && m == (void *)(FIXED_AT - 4096));
        if (r == m) {
            static const unsigned char ret9[] = {0xb8, 9, 0, 0, 0, 0xc3};
            memcpy((void *)a, ret9, sizeof ret9);
            printf("its code: %d\n", ((int (*)(void))a)());
        }
        return 0;
    }
    if (argc > 1 && (!strcmp(argv[1], "mapfile") || !strcmp(argv[1], "mapfile-grow"))) {
        unsigned long at = seven_elsewhere();
        if (!at)
            return 2;
        snprintf(a1, sizeof a1, "%lx", at);
        fflush(stdout);
        execl("/proc/self/exe", argv[0], argv[1][7] ? "grow" : "fixed", a1, (char *)NULL);
        return 1;
    }
    if (argc > 1 && !strcmp(argv[1], "stopme")) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "traced")) {
        /* a tracer looks at a child's old image after its exec */
        unsigned long at = FIXED_AT + (seven_offset() & 4095);
        pid_t pid = fork();
        if (pid == 0) {
            if (!seven_elsewhere())
                _exit(2);
            execl("/proc/self/exe", argv[0], "stopme", (char *)NULL);
            _exit(1);
        }
        int st;
        waitpid(pid, &st, 0);
        printf("stopped %d\n", WIFSTOPPED(st));
        errno = 0;
        long w = ptrace(PTRACE_PEEKTEXT, pid, (void *)at, 0);
        printf("PEEKTEXT %ld %s\n", w, strerror(errno));
        errno = 0;
        w = ptrace(PTRACE_PEEKDATA, pid, (void *)at, 0);
        printf("PEEKDATA %ld %s\n", w, strerror(errno));
        SHOW("POKETEXT", ptrace(PTRACE_POKETEXT, pid, (void *)at, (void *)0x0b0f));
        char buf[16], path[64];
        struct iovec l = {buf, sizeof buf}, r = {(void *)at, sizeof buf};
        SHOW("process_vm_readv", process_vm_readv(pid, &l, 1, &r, 1, 0));
        SHOW("process_vm_writev", process_vm_writev(pid, &l, 1, &r, 1, 0));
        snprintf(path, sizeof path, "/proc/%d/mem", pid);
        int mem = open(path, O_RDWR);
        SHOW("/proc/PID/mem read", pread(mem, buf, sizeof buf, (off_t)at));
        SHOW("/proc/PID/mem write", pwrite(mem, buf, sizeof buf, (off_t)at));
        close(mem);
        ptrace(PTRACE_CONT, pid, 0, 0);
        waitpid(pid, &st, 0);
        printf("child status %d\n", st);
        return 0;
    }
    if (argc > 4 && !strcmp(argv[1], "probe")) {
        unsigned long a = strtoul(argv[2], NULL, 16), b = strtoul(argv[3], NULL, 16);
        int tries = atoi(argv[4]);
        if ((mapped(a) || mapped(b)) && tries < 50) {
            /* mapped again by chance: the regions of two images ago are
             * as good (stale too) */
            snprintf(n, sizeof n, "%d", tries + 1);
            execl("/proc/self/exe", argv[0], "probe", argv[2], argv[3], n, (char *)NULL);
            return 1;
        }
        probe(a, "libc's code");
        probe(b, "the program's code");
        return 0;
    }
    /* a page inside each code region, past its first */
    snprintf(a1, sizeof a1, "%lx", ((unsigned long)(void *)&puts & ~4095UL));
    snprintf(a2, sizeof a2, "%lx", ((unsigned long)(void *)&main & ~4095UL));
    fflush(stdout);
    execl("/proc/self/exe", argv[0], "probe", a1, a2, "0", (char *)NULL);
    return 1;
}
