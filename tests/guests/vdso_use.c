/* What a program can see of the vDSO, and the agreement of its clocks with
 * the clock_gettime system call: neither may step back across the other. */
#define _GNU_SOURCE
#include <elf.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static int never_back(clockid_t clk) {
    for (int i = 0; i < 3000; i++) {
        struct timespec a, b, c;
        clock_gettime(clk, &a);
        syscall(SYS_clock_gettime, clk, &b);     /* timespec with this libc's time_t */
        clock_gettime(clk, &c);
        if (ns(a) > ns(b) || ns(b) > ns(c))
            return 0;
    }
    return 1;
}

int main(void) {
    unsigned long ehdr = getauxval(AT_SYSINFO_EHDR);
    printf("AT_SYSINFO_EHDR present: %d\n", ehdr != 0);
#ifdef __i386__
    unsigned long vsys = getauxval(AT_SYSINFO);
    printf("AT_SYSINFO inside the vDSO: %d\n", vsys > ehdr && vsys < ehdr + 0x4000);
#endif
    if (ehdr)
        printf("vDSO is an ELF shared object: %d\n",
               memcmp((void *)ehdr, ELFMAG, SELFMAG) == 0 &&
                   ((Elf32_Ehdr *)ehdr)->e_type == ET_DYN);
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int vdso = 0, vvar = 0, stack = 0;
    while (f && fgets(line, sizeof line, f)) {
        vdso |= strstr(line, "[vdso]") != 0;
        vvar |= strstr(line, "[vvar]") != 0;
        stack |= strstr(line, "[stack]") != 0;
    }
    printf("maps: [vdso] %d [vvar] %d [stack] %d\n", vdso, vvar, stack);
    printf("MONOTONIC never steps back across the syscall: %d\n", never_back(CLOCK_MONOTONIC));
    printf("REALTIME never steps back across the syscall: %d\n", never_back(CLOCK_REALTIME));
    printf("BOOTTIME never steps back across the syscall: %d\n", never_back(CLOCK_BOOTTIME));
    struct timeval tv;
    gettimeofday(&tv, 0);
    time_t t = time(0);
    /* time() is the coarse clock: it may lag gettimeofday by up to a tick. */
    printf("gettimeofday and time agree: %d\n", t - tv.tv_sec >= -1 && t - tv.tv_sec <= 1);
    struct timespec cpu;
    printf("CPU-time clock falls back to the syscall: %d\n",
           clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) == 0);
    struct timespec r1, r2;
    clock_getres(CLOCK_MONOTONIC, &r1);
    syscall(SYS_clock_getres, CLOCK_MONOTONIC, &r2);
    printf("clock_getres agrees with the syscall: %d\n", ns(r1) == ns(r2));
    printf("sched_getcpu works: %d\n", sched_getcpu() >= 0);
    return 0;
}
