/* Signals from outside reaching a program that computes without system
 * calls and set no signal action (no handler, no timer): the CPU runs it
 * without the per-block stop hook until it does.
 *   spin N        read-modify-write instructions N times, then print the
 *                 counts (each must be N however often it was interrupted)
 *   forever       spin until killed
 *   alarm-exec    alarm(1), then exec "forever": the timer survives execve
 *                 and its SIGALRM must still end the spinning program */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned int add, xadd, inc;

static void rmw(void) {
    unsigned int one = 1;
    __asm__ volatile("addl $1, %0" : "+m"(add));
    __asm__ volatile("lock xaddl %1, %0" : "+m"(xadd), "+r"(one));
    __asm__ volatile("incl %0" : "+m"(inc));
}

int main(int argc, char **argv) {
    if (argc > 2 && !strcmp(argv[1], "spin")) {
        long n = atol(argv[2]);
        for (long i = 0; i < n; i++)
            rmw();
        printf("add %u xadd %u inc %u (expected %ld each)\n", add, xadd, inc, n);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "forever")) {
        printf("spinning\n");
        fflush(stdout);
        for (;;)
            rmw();
    }
    if (argc > 1 && !strcmp(argv[1], "alarm-exec")) {
        alarm(1);
        execl("/proc/self/exe", argv[0], "forever", (char *)0);
        perror("execl");
        return 1;
    }
    fprintf(stderr, "usage: %s spin N | forever | alarm-exec\n", argv[0]);
    return 2;
}
