/* What the kernel selftest sysret_ss_attrs does, written anew: while a
   second thread spins, the main thread sleeps (a system call's return)
   and then, on x86-64, far-returns into compatibility mode on a MAP_32BIT
   stack, pushes and pops there and far-jumps back. A stack segment left
   unusable by a system call's return, or a MAP_32BIT mapping above 2 GiB
   (ESP keeps only 32 bits), faults. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile int stop;

static void *spin(void *arg) {
    while (!stop)
        ;
    return 0;
}

#ifdef __x86_64__
unsigned long to_compat_and_back(void *stack);
asm(".pushsection .text\n"
    "to_compat_and_back:\n"
    "  push %rbx\n  push %rbp\n  push %r12\n  push %r13\n  push %r14\n  push %r15\n"
    "  pushfq\n"
    "  mov %rsp, (%rdi)\n  mov %rdi, %rsp\n"
    "  pushq $0x23\n  pushq $1f\n  lretq\n"
    "1:\n.code32\n"
    "  pushl $0x1234\n  popl %eax\n"
    "  ljmp $0x33, $2f\n"
    ".code64\n"
    "2:\n"
    "  mov (%rsp), %rsp\n"
    "  popfq\n  pop %r15\n  pop %r14\n  pop %r13\n  pop %r12\n  pop %rbp\n  pop %rbx\n"
    "  ret\n"
    ".popsection\n");
#endif

int main(void) {
    pthread_t th;
    pthread_create(&th, 0, spin, 0);
    unsigned long sum = 0;
#ifdef __x86_64__
    unsigned char *stack = mmap(0, 4096, PROT_READ | PROT_WRITE,
                                MAP_32BIT | MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    uintptr_t at = (uintptr_t)stack;
    printf("MAP_32BIT mapping in [1 GiB, 2 GiB): %d\n",
           at >= 0x40000000 && at + 4096 <= 0x80000000);
    unsigned char *hinted = mmap((void *)0x90000000, 4096, PROT_READ | PROT_WRITE,
                                 MAP_32BIT | MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    printf("MAP_32BIT with a hint above 2 GiB lands below it: %d\n",
           (uintptr_t)hinted < 0x80000000);
#endif
    for (int i = 0; i < 300; i++) {
        usleep(2);
#ifdef __x86_64__
        sum += to_compat_and_back(stack + 4088) & 0xFFFF;
#else
        sum += 0x1234;
#endif
    }
    stop = 1;
    pthread_join(th, 0);
    printf("survived, sum %#lx\n", sum);
    return 0;
}
