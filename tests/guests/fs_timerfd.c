/* timerfd: a relative one-shot read when it fires, an interval timer's
 * expiration count, an absolute expiry on CLOCK_MONOTONIC and on
 * CLOCK_REALTIME, gettime and the old value, disarming, a non-blocking
 * read before expiry, and the errors. Prints only what timing cannot
 * change. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define SHOW(what, call) do { errno = 0; long r_ = (long)(call); \
    printf("%-34s = %ld %s\n", what, r_, r_ < 0 ? strerror(errno) : ""); } while (0)

static struct itimerspec spec(long ims, long vms) {
    struct itimerspec s = {{ims / 1000, (ims % 1000) * 1000000L}, {vms / 1000, (vms % 1000) * 1000000L}};
    return s;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    uint64_t n = 0;
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    struct itimerspec s = spec(0, 30), old, cur;
    SHOW("arm 30 ms", timerfd_settime(fd, 0, &s, NULL));
    SHOW("gettime", timerfd_gettime(fd, &cur));
    printf("  armed %d, no interval %d\n", cur.it_value.tv_nsec > 0 || cur.it_value.tv_sec > 0,
           cur.it_interval.tv_sec == 0 && cur.it_interval.tv_nsec == 0);
    SHOW("read blocks until it fires", read(fd, &n, sizeof n));
    printf("  expirations %llu\n", (unsigned long long)n);
    s = spec(20, 20);
    timerfd_settime(fd, 0, &s, NULL);
    struct timespec nap = {0, 110000000};
    nanosleep(&nap, NULL);
    read(fd, &n, sizeof n);
    printf("interval: several expirations %d\n", n >= 3);
    s = spec(0, 0);
    SHOW("disarm, old value", timerfd_settime(fd, 0, &s, &old));
    printf("  old interval 20 ms %d\n", old.it_interval.tv_nsec == 20000000);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    s.it_interval.tv_sec = s.it_interval.tv_nsec = 0;
    s.it_value = now;
    s.it_value.tv_nsec += 30000000;
    if (s.it_value.tv_nsec >= 1000000000) { s.it_value.tv_sec++; s.it_value.tv_nsec -= 1000000000; }
    SHOW("absolute, monotonic", timerfd_settime(fd, TFD_TIMER_ABSTIME, &s, NULL));
    SHOW("read", read(fd, &n, sizeof n));
    int rt = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
    clock_gettime(CLOCK_REALTIME, &now);
    s.it_value = now;
    s.it_value.tv_sec += 1;
    timerfd_settime(rt, TFD_TIMER_ABSTIME, &s, NULL);
    SHOW("non-blocking read before expiry", read(rt, &n, sizeof n));
    timerfd_gettime(rt, &cur);
    printf("  realtime expiry about 1 s away %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 500000000);
    s.it_value.tv_sec = now.tv_sec - 10;
    SHOW("absolute in the past", timerfd_settime(rt, TFD_TIMER_ABSTIME, &s, NULL));
    SHOW("read, fired at once", read(rt, &n, sizeof n));
    SHOW("short read", read(fd, &n, 4));
    SHOW("bad clock", timerfd_create(99, 0));
    SHOW("bad create flags", timerfd_create(CLOCK_MONOTONIC, 1));
    s = spec(0, 10);
    s.it_value.tv_nsec = 2000000000L;
    SHOW("bad nsec", timerfd_settime(fd, 0, &s, NULL));
    SHOW("bad settime flags", timerfd_settime(fd, 8, &s, NULL));
    SHOW("gettime on a non-timerfd", timerfd_gettime(0, &cur));
    return 0;
}
