/* Calls that act on the whole host. The test runs this natively without
 * capabilities (as root with an empty bounding set) and under sysgate as
 * root: sysgate must answer as Linux answers a process without them. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

static void show(const char *what, long r) {
    if (r < 0)
        printf("%s = -1 errno %d\n", what, errno);
    else
        printf("%s = %ld\n", what, r);
}

int main(void) {
    show("mount(tmpfs)", mount("none", "/tmp", "tmpfs", 0, NULL));
    show("umount2(/tmp)", umount2("/tmp", 0));
    show("sethostname", sethostname("guest", 5));
    show("setdomainname", setdomainname("guest", 5));
    struct timeval tv = {1, 0};
    show("settimeofday", settimeofday(&tv, NULL));
    tv.tv_usec = 2000000;
    show("settimeofday(bad usec)", settimeofday(&tv, NULL));
    show("settimeofday(bad ptr)", syscall(SYS_settimeofday, (void *)8, NULL));
    struct timespec ts = {1, 0};
    show("clock_settime(REALTIME)", clock_settime(CLOCK_REALTIME, &ts));
    show("clock_settime(MONOTONIC)", clock_settime(CLOCK_MONOTONIC, &ts));
    ts.tv_nsec = -1;
    show("clock_settime(bad nsec)", clock_settime(CLOCK_REALTIME, &ts));
    struct timex tx = {0};
    long st = adjtimex(&tx);
    printf("adjtimex(read) ok %d\n", st >= 0);
    tx.modes = ADJ_OFFSET;
    show("adjtimex(set)", adjtimex(&tx));
    show("reboot", syscall(SYS_reboot, 0xfee1dead, 672274793, 0x4321fedc, NULL));
    show("reboot(bad magic)", syscall(SYS_reboot, 1, 2, 3, NULL));
    show("chroot(/)", chroot("/"));
    show("swapoff", swapoff("/nonexistent"));
    show("acct", acct(NULL));
    show("setns(bad fd)", setns(99, 0));
    show("setns(not a namespace)", setns(1, 0));
    show("vhangup", vhangup());
    return 0;
}
