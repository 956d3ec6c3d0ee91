/* The two system-call gates of 64-bit code, register by register.
 *
 * gate_call() loads every general register and RFLAGS from c->in, executes
 * SYSCALL or INT $0x80, and stores every register and RFLAGS into c->out,
 * so the program can print what the kernel preserved, clobbered and
 * returned. What Linux does:
 *   SYSCALL:  RAX = result, RCX = address after the instruction, R11 = the
 *             RFLAGS of the caller; every other register preserved. The
 *             number is the low 32 bits of RAX, as an int.
 *   INT 0x80: the i386 table with arguments in EBX ECX EDX ESI EDI EBP (cut
 *             to 32 bits), the result sign-extended into RAX; every other
 *             register (R8-R15 and the upper halves included) preserved.
 * Printed values are either fixed patterns or named relations (ret, flags,
 * pid), so the output is the same natively and under sysgate. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

enum { RAX, RBX, RCX, RDX, RSI, RDI, RBP, R8, R9, R10, R11, R12, R13, R14, R15, FLAGS, NREGS };
static const char *names[NREGS] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9",
                                   "r10", "r11", "r12", "r13", "r14", "r15", "rflags"};

struct call {
    uint64_t in[NREGS];      /* offset 0 */
    uint64_t out[NREGS];     /* offset 128 */
    uint64_t flags_before;   /* offset 256: RFLAGS as the gate instruction saw them */
};

/* gate_syscall(c) / gate_int80(c): the only code between the pushfq that
 * records flags_before and the gate instruction is MOVs, which leave the
 * flags alone. */
#define GATE(name, insn)                                                   \
    ".globl " #name "\n" #name ":\n"                                       \
    "push %rbx\npush %rbp\npush %r12\npush %r13\npush %r14\npush %r15\n"   \
    "push %rdi\n"                                                          \
    "pushq 120(%rdi)\npopfq\n"                                             \
    "pushfq\npopq 256(%rdi)\n"                                             \
    "mov 8(%rdi), %rbx\nmov 16(%rdi), %rcx\nmov 24(%rdi), %rdx\n"          \
    "mov 32(%rdi), %rsi\nmov 48(%rdi), %rbp\nmov 56(%rdi), %r8\n"          \
    "mov 64(%rdi), %r9\nmov 72(%rdi), %r10\nmov 80(%rdi), %r11\n"          \
    "mov 88(%rdi), %r12\nmov 96(%rdi), %r13\nmov 104(%rdi), %r14\n"        \
    "mov 112(%rdi), %r15\nmov 0(%rdi), %rax\nmov 40(%rdi), %rdi\n"         \
    insn "\n"                                                              \
    ".globl " #name "_ret\n" #name "_ret:\n"                               \
    "pushfq\npush %rax\nmov 16(%rsp), %rax\n"                              \
    "popq 128(%rax)\npopq 248(%rax)\n"                                     \
    "mov %rbx, 136(%rax)\nmov %rcx, 144(%rax)\nmov %rdx, 152(%rax)\n"      \
    "mov %rsi, 160(%rax)\nmov %rdi, 168(%rax)\nmov %rbp, 176(%rax)\n"      \
    "mov %r8, 184(%rax)\nmov %r9, 192(%rax)\nmov %r10, 200(%rax)\n"        \
    "mov %r11, 208(%rax)\nmov %r12, 216(%rax)\nmov %r13, 224(%rax)\n"      \
    "mov %r14, 232(%rax)\nmov %r15, 240(%rax)\n"                           \
    "cld\n"                                                                \
    "pop %rdi\npop %r15\npop %r14\npop %r13\npop %r12\npop %rbp\npop %rbx\n" \
    "ret\n"

__asm__(".text\n" GATE(gate_syscall, "syscall") GATE(gate_int80, "int $0x80"));

void gate_syscall(struct call *c);
void gate_int80(struct call *c);
extern char gate_syscall_ret[], gate_int80_ret[];

/* CF PF ZF SF DF OF, IF and the fixed bit: flags a caller can set and SYSRET
 * or IRET must give back. */
#define TEST_FLAGS 0xED7UL

static long pid;
static char msg64[] = "written through SYSCALL\n";
static char msg32[] = "written through INT 0x80 from 64-bit code\n";

static void fill(struct call *c, uint64_t nr) {
    memset(c, 0, sizeof *c);
    for (int i = 0; i < NREGS; i++)
        c->in[i] = 0x1111111111111111ULL * (uint64_t)(i + 1) ^ 0x0123456789abcdefULL;
    c->in[RAX] = nr;
    c->in[FLAGS] = TEST_FLAGS;
}

static void show(const char *what, struct call *c, const char *gate) {
    char *ret = !strcmp(gate, "syscall") ? gate_syscall_ret : gate_int80_ret;
    long rax = (long)c->out[RAX];
    printf("%s via %s: rax=", what, gate);
    if (rax == pid)
        printf("pid");
    else
        printf("%ld (%#llx)", rax, (unsigned long long)c->out[RAX]);
    for (int i = 1; i < NREGS; i++) {
        uint64_t v = c->out[i];
        if (i == FLAGS) {
            printf(" %s=%s", names[i], v == c->flags_before ? "as-before" : "changed");
            if (v != c->flags_before)
                printf("(%#llx vs %#llx)", (unsigned long long)v,
                       (unsigned long long)c->flags_before);
        } else if (v == c->in[i]) {
            printf(" %s=kept", names[i]);
        } else if (v == (uint64_t)ret) {
            printf(" %s=next-insn", names[i]);
        } else if (v == c->flags_before) {
            printf(" %s=rflags", names[i]);
        } else {
            printf(" %s=%#llx", names[i], (unsigned long long)v);
        }
    }
    printf("\n");
    fflush(stdout);
}

static void run(const char *what, const char *gate, struct call *c) {
    fflush(stdout);
    if (!strcmp(gate, "syscall"))
        gate_syscall(c);
    else
        gate_int80(c);
    show(what, c, gate);
}

/* Single-stepping over a gate: TF set when SYSCALL or INT 0x80 executes.
 * The CPU clears TF on the way in (FMASK, the interrupt gate) and Linux
 * returns through IRET with TF set again, so the first trap comes after the
 * instruction that follows the gate; RCX and R11 are what SYSCALL made
 * them. The handler lets the steps up to the gate pass, then clears TF. */
extern char step_sc[], step_sc_ret[], step_i80[], step_i80_ret[];
static volatile uintptr_t trap_ip, trap_rcx, trap_r11;
static volatile int traps;

static void on_trap(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *uc = ctx;
    uintptr_t ip = uc->uc_mcontext.gregs[REG_RIP];
    if (ip == (uintptr_t)step_sc || ip == (uintptr_t)step_i80)
        return;
    if (!traps++) {
        trap_ip = ip;
        trap_rcx = uc->uc_mcontext.gregs[REG_RCX];
        trap_r11 = uc->uc_mcontext.gregs[REG_R11];
    }
    uc->uc_mcontext.gregs[REG_EFL] &= ~0x100L;
}

static void single_step(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_trap;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGTRAP, &sa, 0);
    __asm__ volatile("mov $0x1234, %%rcx\n mov $0x5678, %%r11\n"
                     "pushfq\n orq $0x100, (%%rsp)\n popfq\n mov $39, %%eax\n"
                     ".globl step_sc\nstep_sc: syscall\n"
                     ".globl step_sc_ret\nstep_sc_ret: nop\n nop\n nop\n"
                     ::: "rax", "rcx", "r11", "memory", "cc");
    printf("single-step over syscall: %d trap, at %s+%ld, rcx=%s, r11 %s\n", traps,
           "next-insn", (long)(trap_ip - (uintptr_t)step_sc_ret),
           trap_rcx == (uintptr_t)step_sc_ret ? "next-insn" : "other",
           trap_r11 & 0x100 ? "has TF" : "lacks TF");
    traps = 0;
    __asm__ volatile("mov $0x1234, %%rcx\n"
                     "pushfq\n orq $0x100, (%%rsp)\n popfq\n mov $20, %%eax\n"
                     ".globl step_i80\nstep_i80: int $0x80\n"
                     ".globl step_i80_ret\nstep_i80_ret: nop\n nop\n nop\n"
                     ::: "rax", "rcx", "r11", "memory", "cc");
    printf("single-step over int80: %d trap, at %s+%ld, rcx=%s\n", traps, "next-insn",
           (long)(trap_ip - (uintptr_t)step_i80_ret), trap_rcx == 0x1234 ? "kept" : "changed");
}

int main(int argc, char **argv) {
    struct call c;
    pid = getpid();

    /* --- SYSCALL: the x86-64 table ------------------------------------- */
    fill(&c, 39);                                   /* getpid */
    run("getpid", "syscall", &c);

    fill(&c, 1);                                    /* write(1, msg, len) */
    c.in[RDI] = 1;
    c.in[RSI] = (uint64_t)msg64;
    c.in[RDX] = strlen(msg64);
    run("write", "syscall", &c);

    fill(&c, 1);                                    /* write(-1, ...) */
    c.in[RDI] = (uint64_t)-1;
    c.in[RSI] = (uint64_t)msg64;
    c.in[RDX] = 4;
    run("write-ebadf", "syscall", &c);

    /* The number is an int: the upper half of RAX is ignored, and numbers
     * past the table (negative ones included) give -ENOSYS. */
    fill(&c, 0x100000027ULL);
    run("getpid-upper-bits", "syscall", &c);
    fill(&c, 0xffffffff00000027ULL);
    run("getpid-upper-ones", "syscall", &c);
    fill(&c, 1000);
    run("nr-1000", "syscall", &c);
    fill(&c, 0xffffffffULL);
    run("nr-0xffffffff", "syscall", &c);
    fill(&c, (uint64_t)-1);
    run("nr-minus-1", "syscall", &c);
    fill(&c, 0x80000027ULL);
    run("nr-0x80000027", "syscall", &c);

    /* Six arguments: mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 4096) of
     * this program; R9 (the offset) has to arrive intact. */
    int fd = open("/proc/self/exe", O_RDONLY);
    if (fd < 0)
        fd = open(argv[0], O_RDONLY);
    unsigned char expect[16];
    pread(fd, expect, sizeof expect, 4096);
    fill(&c, 9);
    c.in[RDI] = 0;
    c.in[RSI] = 4096;
    c.in[RDX] = PROT_READ;
    c.in[R10] = MAP_PRIVATE;
    c.in[R8] = fd;
    c.in[R9] = 4096;
    gate_syscall(&c);
    printf("mmap via syscall: %s, r9=%s\n",
           (long)c.out[RAX] > 0 && !memcmp((void *)c.out[RAX], expect, sizeof expect)
               ? "offset 4096 mapped" : "wrong",
           c.out[R9] == 4096 ? "kept" : "changed");
    if ((long)c.out[RAX] > 0)
        munmap((void *)c.out[RAX], 4096);

    /* --- INT 0x80 from 64-bit code: the i386 table --------------------- */
    fill(&c, 20);                                   /* i386 getpid */
    run("getpid", "int80", &c);

    /* write(1, msg, len) with garbage in the upper halves of EBX, ECX and
     * EDX: the compat entry cuts every argument to 32 bits. msg32 is in
     * .data, below 4 GiB in a static program. */
    fill(&c, 4);
    c.in[RBX] = 0xdeadbeef00000001ULL;
    c.in[RCX] = 0xfeedface00000000ULL | (uint32_t)(uintptr_t)msg32;
    c.in[RDX] = 0x1234567800000000ULL | strlen(msg32);
    run("write", "int80", &c);

    fill(&c, 4);                                    /* write(-1): -EBADF as a 64-bit -9 */
    c.in[RBX] = 0xffffffffULL;
    c.in[RCX] = (uint32_t)(uintptr_t)msg32;
    c.in[RDX] = 4;
    run("write-ebadf", "int80", &c);

    fill(&c, 0x100000014ULL);                       /* number cut to 32 bits */
    run("getpid-upper-bits", "int80", &c);
    fill(&c, 1000);
    run("nr-1000", "int80", &c);
    fill(&c, 0xffffffffULL);
    run("nr-0xffffffff", "int80", &c);
    fill(&c, 0x80000014ULL);
    run("nr-0x80000014", "int80", &c);

    /* Six arguments through INT 0x80: mmap2 takes its page offset in EBP. */
    fill(&c, 192);                                  /* i386 mmap2 */
    c.in[RBX] = 0;
    c.in[RCX] = 4096;
    c.in[RDX] = PROT_READ;
    c.in[RSI] = MAP_PRIVATE;
    c.in[RDI] = fd;
    c.in[RBP] = 1;
    gate_int80(&c);
    long addr = (long)c.out[RAX];
    printf("mmap2 via int80: %s\n", addr > 0 && !memcmp((void *)addr, expect, sizeof expect)
                                        ? "page 1 mapped" : "wrong");
    /* A compat system call maps below 4 GiB even for a 64-bit program
     * (in_32bit_syscall() picks the legacy mmap base). */
    printf("mmap2 via int80 below 4 GiB: %s\n", addr > 0 && addr < 0x100000000L ? "yes" : "no");
    fflush(stdout);
    single_step();
    return 0;
}
