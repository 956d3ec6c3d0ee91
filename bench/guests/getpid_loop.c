/* N getpid calls through one gate, with nothing else in the loop, so the
 * cost per iteration is the cost of one kernel round trip. -DNR=n makes
 * another call without arguments instead (x86-64 SYSCALL only): getppid
 * (110), which sysgate answers in Python, where its getpid is answered in
 * machine code; -DNR32=n the same for i386 code through __kernel_vsyscall
 * (-DVSYSCALL): getppid is 64 there. */
#include <stdlib.h>

#ifndef NR
#define NR 39
#endif
#ifndef NR32
#define NR32 20
#endif
#define STR_(x) #x
#define STR(x) STR_(x)

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000;
    if (n <= 0)
        return 0;
#if defined(__x86_64__) && !defined(INT80)
    __asm__ volatile("1: mov $" STR(NR) ", %%eax\n\tsyscall\n\tdec %0\n\tjnz 1b"
                     : "+r"(n) : : "rax", "rcx", "r11", "memory");
#elif defined(__x86_64__)
    __asm__ volatile("1: mov $20, %%eax\n\tint $0x80\n\tdec %0\n\tjnz 1b"
                     : "+r"(n) : : "rax", "memory");
#elif defined(VSYSCALL)
    /* As glibc calls the kernel: __kernel_vsyscall from AT_SYSINFO, kept in
     * the TCB at %gs:0x10; on the Intel model its body is SYSENTER. */
    __asm__ volatile("1: mov $" STR(NR32) ", %%eax\n\tcall *%%gs:0x10\n\tdec %0\n\tjnz 1b"
                     : "+r"(n) : : "eax", "memory");
#else
    __asm__ volatile("1: mov $20, %%eax\n\tint $0x80\n\tdec %0\n\tjnz 1b"
                     : "+r"(n) : : "eax", "memory");
#endif
    return 0;
}
