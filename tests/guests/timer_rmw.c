/* Read-modify-write instructions on memory while timer signals interrupt
 * user code every millisecond: each instruction must run exactly once per
 * iteration, however often the CPU is stopped around it (a stop that puts
 * the PC back on an instruction whose store already ran would count it
 * twice). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

static volatile int ticks;
static void on_alarm(int s) { (void)s; ticks++; }

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 3000000;
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, 0);
    struct itimerval it = {{0, 1000}, {0, 1000}};
    setitimer(ITIMER_REAL, &it, 0);
    static unsigned int add, xadd, inc;
    unsigned int one = 1;
    for (long i = 0; i < n; i++) {
        __asm__ volatile("addl $1, %0" : "+m"(add));
        __asm__ volatile("lock xaddl %1, %0" : "+m"(xadd), "+r"(one));
        one = 1;
        __asm__ volatile("incl %0" : "+m"(inc));
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, 0);
    printf("add %u xadd %u inc %u (expected %ld each), timer fired: %d\n", add, xadd, inc, n,
           ticks > 0);
    return 0;
}
