/* Breakpoints, next, stepi and catch syscall for gdb run under sysgate. */
#include <stdio.h>
#include <unistd.h>

int counter;

static int add(int a, int b)
{
    return a + b;
}

int main(void)
{
    for (int i = 0; i < 3; i++)
        counter = add(counter, i);
    printf("counter %d\n", counter);
    fflush(stdout);
    write(1, "done\n", 5);
    return 0;
}
