/* The legacy vsyscall page of x86-64 Linux (0xffffffffff600000): its three
 * entries, gettimeofday at +0, time at +0x400, getcpu at +0x800, are
 * emulated by the kernel when 64-bit code calls them (the instruction fetch
 * faults and the page-fault handler runs the system call, then returns as
 * RET would). Old static binaries still call them.
 *
 * argv[1]: "calls" (the three entries; results printed as relations),
 * "misaligned" (a call to +0x10: SIGSEGV), "badptr" (gettimeofday with an
 * unmapped buffer: SIGSEGV, no return) or "read" (a data read of the page,
 * which Linux's default vsyscall=xonly refuses: SIGSEGV). */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define VSYSCALL 0xffffffffff600000UL

typedef long (*gtod_fn)(struct timeval *, void *);
typedef long (*time_fn)(long *);
typedef long (*getcpu_fn)(unsigned *, unsigned *, void *);

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "calls";
    printf("%s\n", mode);
    fflush(stdout);
    if (!strcmp(mode, "calls")) {
        struct timeval tv = {0, 0};
        long r = ((gtod_fn)VSYSCALL)(&tv, 0);
        long now = (long)time(0);
        printf("gettimeofday: %ld, %s\n", r,
               tv.tv_sec >= now - 2 && tv.tv_sec <= now + 2 ? "now" : "wrong time");
        long t2 = 0;
        long r2 = ((time_fn)(VSYSCALL + 0x400))(&t2);
        printf("time: %s, %s\n", r2 == t2 ? "same as stored" : "differs",
               r2 >= now - 2 && r2 <= now + 2 ? "now" : "wrong time");
        unsigned cpu = ~0u, node = ~0u;
        long r3 = ((getcpu_fn)(VSYSCALL + 0x800))(&cpu, &node, 0);
        printf("getcpu: %ld, cpu %s, node %s\n", r3, cpu < 4096 ? "set" : "unset",
               node < 4096 ? "set" : "unset");
    } else if (!strcmp(mode, "misaligned")) {
        ((time_fn)(VSYSCALL + 0x10))(0);
    } else if (!strcmp(mode, "badptr")) {
        ((gtod_fn)VSYSCALL)((struct timeval *)16, 0);
    } else if (!strcmp(mode, "read")) {
        printf("%d\n", *(volatile unsigned char *)VSYSCALL);
    } else {
        return 2;
    }
    printf("returned\n");
    return 0;
}
