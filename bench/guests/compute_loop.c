/* Pure user-mode work, no kernel crossing inside the loop; bench/run.py runs
 * the same four instructions on bare Unicorn as the floor. */
#include <stdlib.h>

int main(int argc, char **argv) {
    unsigned long n = argc > 1 ? strtoul(argv[1], 0, 10) : 1000, x = 1;
    if (n == 0)
        return 0;
    __asm__ volatile("1: imul %%rdx, %%rax\n\tadd %%rdi, %%rax\n\tdec %%rdi\n\tjnz 1b"
                     : "+D"(n), "+a"(x) : "d"(6364136223846793005UL));
    return (int)(x & 1);
}
