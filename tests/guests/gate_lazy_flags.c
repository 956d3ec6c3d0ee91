/* SYSCALL right after an instruction that sets the arithmetic flags: R11
 * must hold the caller's RFLAGS and RCX the address after the SYSCALL.
 * Under an emulator the flags of the last arithmetic instruction are kept
 * unevaluated (QEMU's cc_op: the operands and which operation), so each
 * kind of operation is a separate case here, with operands chosen to set
 * flags. Printed per case: the flags of R11 that the operation defines
 * (an undefined flag may differ between CPUs), whether the flags after
 * the return equal R11 (SYSRET restores them from it), and whether RCX is
 * the return address. */
#include <stdint.h>
#include <stdio.h>

#define CF 0x1
#define PF 0x4
#define AF 0x10
#define ZF 0x40
#define SF 0x80
#define DF 0x400
#define OF 0x800
#define ARITH (CF | PF | AF | ZF | SF | OF | DF)

/* op: instructions on %rdx (a) and %rsi (b) that set the flags, then
 * nothing but MOVs (which leave them) up to the SYSCALL (getpid). */
#define CASE(name, op, a, b, defined)                                          \
    do {                                                                       \
        uint64_t r11, rcx, ret, after;                                         \
        __asm__ volatile("mov %[va], %%rdx\n\t"                                \
                         "mov %[vb], %%rsi\n\t" op "\n\t"                      \
                         "mov $39, %%eax\n\t"                                  \
                         "syscall\n"                                           \
                         "1:\n\t"                                              \
                         "pushfq\n\t"                                          \
                         "popq %[after]\n\t"                                   \
                         "cld\n\t"                                             \
                         "mov %%r11, %[r11]\n\t"                               \
                         "mov %%rcx, %[rcx]\n\t"                               \
                         "lea 1b(%%rip), %[ret]"                               \
                         : [r11] "=&r"(r11), [rcx] "=&r"(rcx), [ret] "=&r"(ret), \
                           [after] "=&r"(after)                                \
                         : [va] "r"((uint64_t)(a)), [vb] "r"((uint64_t)(b))    \
                         : "rax", "rcx", "rdx", "rsi", "r11", "memory", "cc"); \
        printf("%-12s r11 flags %#06lx, flags after %s r11, rcx %s\n", name,   \
               (unsigned long)(r11 & (defined)),                               \
               (after & ARITH) == (r11 & ARITH) ? "==" : "!=",                 \
               rcx == ret ? "= return address" : "wrong");                     \
    } while (0)

int main(void) {
    CASE("cmp q", "cmp %%rsi, %%rdx", 1, 2, CF | PF | AF | ZF | SF | OF);
    CASE("cmp eq", "cmp %%rsi, %%rdx", 7, 7, CF | PF | AF | ZF | SF | OF);
    CASE("sub l", "sub %%esi, %%edx", 0x80000000u, 1, CF | PF | AF | ZF | SF | OF);
    CASE("add q", "add %%rsi, %%rdx", 0x7fffffffffffffffull, 1, CF | PF | AF | ZF | SF | OF);
    CASE("add b", "add %%sil, %%dl", 0xff, 1, CF | PF | AF | ZF | SF | OF);
    CASE("add w", "add %%si, %%dx", 0x8000, 0x8000, CF | PF | AF | ZF | SF | OF);
    CASE("adc q", "stc\n\tadc %%rsi, %%rdx", -1, 0, CF | PF | AF | ZF | SF | OF);
    CASE("sbb l", "stc\n\tsbb %%esi, %%edx", 0, 0, CF | PF | AF | ZF | SF | OF);
    CASE("neg q", "neg %%rdx", 5, 0, CF | PF | AF | ZF | SF | OF);
    CASE("test q", "test %%rdx, %%rdx", 0, 0, CF | PF | ZF | SF | OF);
    CASE("and l", "and %%esi, %%edx", 0x80000003u, 0x80000001u, CF | PF | ZF | SF | OF);
    CASE("xor b", "xor %%sil, %%dl", 0x0f, 0xf0, CF | PF | ZF | SF | OF);
    CASE("inc q", "inc %%rdx", 0x7fffffffffffffffull, 0, PF | AF | ZF | SF | OF);
    CASE("dec l", "dec %%edx", 1, 0, PF | AF | ZF | SF | OF);
    CASE("shl q", "shl $1, %%rdx", 0xc000000000000000ull, 0, CF | PF | ZF | SF | OF);
    CASE("sar l", "sar $1, %%edx", 0x80000001u, 0, CF | PF | ZF | SF | OF);
    CASE("imul q", "imul %%rsi, %%rdx", 0x100000000ull, 0x100000000ull, CF | OF);
    CASE("mul-free", "mov %%rsi, %%rdx", 0, 0, 0);
    CASE("bt", "bt $3, %%rdx", 8, 0, CF);
    CASE("std", "std", 0, 0, DF);
    CASE("sahf", "mov $0xd5, %%ah\n\tsahf", 0, 0, CF | PF | AF | ZF | SF);
    return 0;
}
