/* A program that faults a few calls deep: gdb run under sysgate must show
 * the same stop, backtrace and registers as natively. */
#include <stdio.h>

static int depth(int *p, int n)
{
    if (n == 0)
        return *p;
    return depth(p, n - 1) + 1;
}

int main(void)
{
    printf("before\n");
    fflush(stdout);
    return depth((int *)0x10, 3);
}
