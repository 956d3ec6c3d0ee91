/* One CPU fault per run: argv[1] names it.
 *
 * Without a second argument the fault is left to its default action, so
 * the program dies of the signal Linux sends for it. With "catch" as the
 * second argument, or with "all" (every fault in turn, each left with
 * siglongjmp), a SA_SIGINFO handler reports what the kernel told it:
 * the signal, si_code, si_addr and the saved instruction pointer, each
 * relative to labels around the faulting instruction, and the trap number
 * and error code of the sigcontext. Every printed value is either a fixed
 * number or such a relation, so native and sysgate runs compare.
 *
 * Each fault sits in its own non-inlined function between two global
 * labels, <name>_at (the faulting instruction) and <name>_end (the next). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#ifdef __x86_64__
#define IP_REG REG_RIP
#define AX "%rax"
#define CX "%rcx"
#define SP "%rsp"
#else
#define IP_REG REG_EIP
#define AX "%eax"
#define CX "%ecx"
#define SP "%esp"
#endif

#define FAULT(name, body)                                                          \
    extern char name##_at[], name##_end[];                                          \
    static void __attribute__((noinline)) name(void) {                              \
        /* basic asm: only call-clobbered registers (A, C, D) are used */         \
        __asm__ volatile(".globl " #name "_at\n" #name "_at:\n" body "\n"           \
                         ".globl " #name "_end\n" #name "_end:\n");                 \
    }

/* Memory */
FAULT(null_read, "mov 0, %eax")
FAULT(null_write, "movl $1, 0")
FAULT(wild_write, "mov $0xdead0000, %ecx\n movl $1, (" CX ")")
/* Instructions that do not exist or are not for user mode */
FAULT(ud2, "ud2")
FAULT(hlt, "hlt")
FAULT(cli, "cli")
FAULT(in_port, "inb $0x80, %al")
FAULT(out_port, "outb %al, $0x80")
FAULT(rdmsr, "xor %ecx, %ecx\n rdmsr")
FAULT(rdpmc, "xor %ecx, %ecx\n rdpmc")
FAULT(lgdt, "lgdt 0")
FAULT(sysret, ".byte 0x0f, 0x07")
FAULT(sysexit, ".byte 0x0f, 0x35")
FAULT(bad_selector, "mov $0x43, %eax\n mov %eax, %es")
/* The #GP error code is the selector: one past the GDT's limit, one with
 * TI set (no LDT), a bad stack segment, and a far return to a bad CS */
FAULT(bad_selector_limit, "mov $0xfff3, %eax\n mov %eax, %fs")
FAULT(bad_selector_ldt, "mov $0x7, %eax\n mov %eax, %ds")
FAULT(bad_ss, "mov $0x43, %eax\n mov %eax, %ss")
#ifdef __x86_64__
FAULT(bad_far_return, "push $0x43\n push $0\n lretq")
#else
FAULT(bad_far_return, "push $0x43\n push $0\n lret")
#endif
/* Divide error */
FAULT(div0, "xor %edx, %edx\n mov $1, %eax\n xor %ecx, %ecx\n div %ecx")
/* Breakpoints and single-step */
FAULT(int3, "int3")
FAULT(int3_long, "int $3")
FAULT(icebp, ".byte 0xf1")
FAULT(tf, "pushf\n orl $0x100, (" SP ")\n popf\n nop\n nop")
/* INT n to vectors whose IDT gates are not DPL 3: #GP */
FAULT(int0, "int $0")
FAULT(int1, "int $1")
FAULT(int4, "int $4")
FAULT(int6, "int $6")
FAULT(int13, "int $13")
FAULT(int14, "int $14")
FAULT(int16, "int $16")
FAULT(int17, "int $17")
FAULT(int0x81, "int $0x81")
FAULT(int0xff, "int $0xff")
#ifdef __x86_64__
/* The page just below 2^47 is never user memory; a non-canonical address
 * is a #GP whatever it would truncate to. */
FAULT(top_page, "movabs 0x7ffffffff000, %eax")
FAULT(top_page_write, "movabs %eax, 0x7ffffffff400")
FAULT(noncanonical, "movabs 0x80007ffffffff000, %eax")
FAULT(kernel_addr, "movabs 0xffff800000000000, %eax")
FAULT(sysenter64, ".byte 0x0f, 0x34")
#else
FAULT(top_page, "mov 0xfffff000, %eax")
FAULT(top_page_write, "mov %eax, 0xfffff400")
FAULT(into, "mov $0x7f, %al\n add $1, %al\n into")
FAULT(bound, "push $1\n push $0\n mov $5, %eax\n bound %eax, (%esp)\n add $8, %esp")
#endif
/* Jumps to places that cannot run */
FAULT(jump_unmapped, "mov $0xdead0000, %eax\n call *" AX)
FAULT(jump_null, "xor %eax, %eax\n call *" AX)

#define OP(n) {#n, n, n##_at, n##_end}
static const struct op {
    const char *name;
    void (*fn)(void);
    char *at, *end;
} ops[] = {
    OP(null_read), OP(null_write), OP(wild_write), OP(ud2), OP(hlt), OP(cli), OP(in_port),
    OP(out_port), OP(rdmsr), OP(rdpmc), OP(lgdt), OP(sysret), OP(sysexit), OP(bad_selector),
    OP(bad_selector_limit), OP(bad_selector_ldt), OP(bad_ss), OP(bad_far_return),
    OP(div0), OP(int3), OP(int3_long), OP(icebp), OP(tf), OP(int0), OP(int1), OP(int4),
    OP(int6), OP(int13), OP(int14), OP(int16), OP(int17), OP(int0x81), OP(int0xff),
    OP(top_page), OP(top_page_write), OP(jump_unmapped), OP(jump_null),
#ifdef __x86_64__
    OP(noncanonical), OP(kernel_addr), OP(sysenter64),
#else
    OP(into), OP(bound),
#endif
};

static const char *const readonly = "a string literal lives in a read-only page";
static char data_page[64] __attribute__((aligned(16)));
static const struct op *cur;
static sigjmp_buf back;
static int resume;              /* "all": the handler jumps back for the next fault */

static void write_rodata(void) { *(volatile char *)readonly = 'A'; }
static void exec_data(void) {
    data_page[0] = (char)0xc3;              /* ret, in a page without PROT_EXEC */
    ((void (*)(void))data_page)();
}
static int recurse(int n) {
    volatile char pad[256];
    pad[0] = (char)n;
    return recurse(n + 1) + pad[0];
}
static void stack_overflow(void) { recurse(0); }

static const struct op extra[] = {{"rodata_write", write_rodata, 0, 0},
                                  {"exec_data", exec_data, 0, 0},
                                  {"stack_overflow", stack_overflow, 0, 0}};

static void where(const char *what, uintptr_t v) {
    if (cur->at && v == (uintptr_t)cur->at)
        printf(" %s=at", what);
    else if (cur->at && v == (uintptr_t)cur->end)
        printf(" %s=end", what);
    else if (cur->at && v > (uintptr_t)cur->at && v < (uintptr_t)cur->end)
        printf(" %s=at+%ld", what, (long)(v - (uintptr_t)cur->at));
    else if (v == (uintptr_t)readonly)
        printf(" %s=rodata", what);
    else if (v == (uintptr_t)data_page)
        printf(" %s=data", what);
    else if (!cur->at && v)
        printf(" %s=elsewhere", what);   /* stack addresses differ run to run */
    else
        printf(" %s=%#lx", what, (unsigned long)v);
}

static void handler(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *uc = ctx;
    printf("  caught signal %d code %d", sig, si->si_code);
    where("addr", (uintptr_t)si->si_addr);
    where("ip", (uintptr_t)uc->uc_mcontext.gregs[IP_REG]);
    printf(" trapno=%ld err=%#lx\n", (long)uc->uc_mcontext.gregs[REG_TRAPNO],
           (unsigned long)uc->uc_mcontext.gregs[REG_ERR]);
    fflush(stdout);
    if (resume)
        siglongjmp(back, 1);
    _exit(0);
}

static void catch_faults(void) {
    static char altstack[65536];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
    sigaltstack(&ss, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    int sigs[] = {SIGSEGV, SIGILL, SIGFPE, SIGTRAP, SIGBUS};
    for (size_t i = 0; i < 5; i++)
        sigaction(sigs[i], &sa, 0);
}

static void run(const struct op *op) {
    cur = op;
    printf("%s\n", op->name);
    fflush(stdout);
    op->fn();
    printf("  survived\n");
    fflush(stdout);
}

#define N(a) (sizeof a / sizeof a[0])

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    if (!strcmp(argv[1], "all")) {
        /* Every fault in turn, each caught and left with siglongjmp; argv[2..]
         * names faults to leave out. */
        catch_faults();
        resume = 1;
        for (size_t i = 0; i < N(ops) + N(extra); i++) {
            const struct op *op = i < N(ops) ? &ops[i] : &extra[i - N(ops)];
            int skip = 0;
            for (int a = 2; a < argc; a++)
                skip |= !strcmp(argv[a], op->name);
            if (skip)
                continue;
            if (sigsetjmp(back, 1) == 0)
                run(op);
        }
        return 0;
    }
    if (!strcmp(argv[1], "list")) {
        for (size_t i = 0; i < N(ops) + N(extra); i++)
            printf("%s\n", i < N(ops) ? ops[i].name : extra[i - N(ops)].name);
        return 0;
    }
    const struct op *op = 0;
    for (size_t i = 0; i < N(ops); i++)
        if (!strcmp(argv[1], ops[i].name))
            op = &ops[i];
    for (size_t i = 0; i < N(extra); i++)
        if (!strcmp(argv[1], extra[i].name))
            op = &extra[i];
    if (!op)
        return 2;
    if (argc > 2 && !strcmp(argv[2], "catch"))
        catch_faults();
    run(op);
    return 0;
}
