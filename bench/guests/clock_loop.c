/* N clock_gettime(CLOCK_MONOTONIC) calls: through libc (the vDSO), or with
 * -DSYSCALL as the real system call. */
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000;
    struct timespec ts;
    for (long i = 0; i < n; i++) {
#ifdef SYSCALL
        syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
#else
        clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    }
    return 0;
}
