/* A faulting instruction ends its block there: nothing after it in the
   same straight-line run of code (a store, a register change) takes
   effect, whether the fault is a store to an unmapped or read-only page,
   a load, or a refused OUT. The CPU engine translates such a run as one
   block and is stopped inside it (cpu.ucfields). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static sigjmp_buf jb;
static volatile uintptr_t fault_addr;
static volatile long after;        /* stored right after the faulting instruction */

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    fault_addr = (uintptr_t)si->si_addr;
    siglongjmp(jb, sig);
}

#define CASE(name, insn, ...) do {                                             \
    after = 0;                                                                 \
    int s = sigsetjmp(jb, 1);                                                  \
    if (!s) {                                                                  \
        long v = 7;                                                            \
        __asm__ volatile(insn "\n\t"                                           \
                         "mov %[v], %[after]\n\t"                             \
                         "add $1, %[v]\n\t"                                    \
                         "mov %[v], %[after]"                                  \
                         : [after] "=m"(after), [v] "+r"(v) : __VA_ARGS__ : "memory"); \
        printf("%s: no fault, after %ld\n", name, after);                     \
    } else {                                                                   \
        printf("%s: signal %d at %s, after %ld\n", name, s,                    \
               fault_addr == (uintptr_t)expect ? "the address" : "elsewhere", after); \
    }                                                                          \
} while (0)

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, 0);
    sigaction(SIGBUS, &sa, 0);

    char *ro = mmap(0, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *none = mmap(0, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *expect;

    expect = (void *)0x1234;
    CASE("store to unmapped", "movl $1, (%[p])", [p] "r"(expect));
    expect = ro + 0x123;
    CASE("store to read-only", "movl $1, (%[p])", [p] "r"(expect));
    char *rw = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(rw + 4096, 4096, PROT_READ);
    expect = rw + 4096;
    CASE("store across into read-only", "movl $-1, (%[p])", [p] "r"(rw + 4094));
    printf("  its first half: %#x %#x\n", (unsigned char)rw[4094], (unsigned char)rw[4095]);
    expect = none + 8;
    CASE("load from PROT_NONE", "mov (%[p]), %%eax", [p] "r"(expect));
    expect = 0;
    CASE("out to port 0x80", "outb %%al, $0x80", [p] "r"(expect));
    printf("still running\n");
    return 0;
}
