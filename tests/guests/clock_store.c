/* clock_gettime and gettimeofday made as system calls, stored into every
 * kind of user memory: a plain page, code (a writable and executable page),
 * a structure across two mappings, a read-only page, no page at all, and a
 * vfork child's store into its parent's memory. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long sys_clock(int clk, void *tp) { return syscall(SYS_clock_gettime, clk, tp); }
static long sys_tod(void *tv, void *tz) { return syscall(SYS_gettimeofday, tv, tz); }

static int ok(struct timespec *ts) {
    return ts->tv_sec > 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000;
}

static void result(const char *what, long r) {
    printf("%s: %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

static struct timespec shared_ts;

int main(void) {
    long page = sysconf(_SC_PAGESIZE);
    struct timespec ts, vd;
    struct timeval tv;
    struct timezone tz = {-1, -1};

    /* the vDSO and the system call agree: neither steps back */
    int back = 0;
    for (int i = 0; i < 2000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &vd);
        sys_clock(CLOCK_MONOTONIC, &ts);
        if (ts.tv_sec < vd.tv_sec || (ts.tv_sec == vd.tv_sec && ts.tv_nsec < vd.tv_nsec))
            back++;
        clock_gettime(CLOCK_MONOTONIC, &vd);
        if (vd.tv_sec < ts.tv_sec || (vd.tv_sec == ts.tv_sec && vd.tv_nsec < ts.tv_nsec))
            back++;
    }
    printf("steps back: %d\n", back);
    int clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_REALTIME_COARSE,
                    CLOCK_MONOTONIC_COARSE, CLOCK_TAI};
    for (unsigned i = 0; i < sizeof clocks / sizeof *clocks; i++) {
        memset(&ts, 0xff, sizeof ts);
        long r = sys_clock(clocks[i], &ts);
        printf("clock %d: %ld valid %d\n", clocks[i], r, ok(&ts));
    }
    result("bad clock", sys_clock(10, &ts));
    result("NULL", sys_clock(CLOCK_MONOTONIC, NULL));
    result("unmapped", sys_clock(CLOCK_MONOTONIC, (void *)8));

    char *p = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    /* three mappings: rw, rwx, ro */
    mprotect(p + page, page, PROT_READ | PROT_WRITE | PROT_EXEC);
    mprotect(p + 2 * page, page, PROT_READ);
    struct timespec *end1 = (void *)(p + page - sizeof ts);
    result("end of a page", sys_clock(CLOCK_REALTIME, end1));
    printf("  valid %d\n", ok(end1));
    struct timespec *across = (void *)(p + page - sizeof ts / 2);
    result("across two mappings", sys_clock(CLOCK_REALTIME, across));
    memcpy(&ts, across, sizeof ts);
    printf("  valid %d\n", ok(&ts));
    struct timespec *code = (void *)(p + page + 64);
    result("writable code", sys_clock(CLOCK_REALTIME, code));
    printf("  valid %d\n", ok(code));
    /* (What of it lands before the read-only page is not compared: Linux
     * stores the first part, sysgate's checked write stores nothing.) */
    result("code into read-only", sys_clock(CLOCK_REALTIME, p + 2 * page - 4));
    result("read-only", sys_clock(CLOCK_REALTIME, p + 2 * page));
    printf("  untouched %d\n", p[2 * page] == 0);

    result("gettimeofday", sys_tod(&tv, &tz));
    printf("  tv valid %d tz %d %d\n", tv.tv_sec > 0 && tv.tv_usec >= 0 && tv.tv_usec < 1000000,
           tz.tz_minuteswest, tz.tz_dsttime);
    result("gettimeofday read-only", sys_tod(p + 2 * page, NULL));
    result("gettimeofday across", sys_tod(p + page - sizeof tv / 2, NULL));

    /* a vfork child's store lands in its parent's memory */
    pid_t pid = vfork();
    if (pid == 0) {
        sys_clock(CLOCK_MONOTONIC, &shared_ts);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("vfork child's store seen: %d\n", ok(&shared_ts));
    return 0;
}
