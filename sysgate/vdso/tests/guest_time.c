/*
 * A real program for the vDSO tests: built static with glibc (-m64, -m32)
 * and musl, and started by harness.c's "exec" command with sysgate's image
 * as its vDSO (AT_SYSINFO_EHDR, and AT_SYSINFO on i386). It prints what its
 * libc's time functions answer; the test compares that with the page.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	struct timespec ts;
	struct timeval tv;
	int r;

	r = clock_gettime(CLOCK_REALTIME, &ts);
	printf("realtime %d %lld %ld\n", r, (long long)ts.tv_sec, (long)ts.tv_nsec);
	r = clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("monotonic %d %lld %ld\n", r, (long long)ts.tv_sec, (long)ts.tv_nsec);
	r = clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	printf("cputime %d %lld %ld\n", r, (long long)ts.tv_sec, (long)ts.tv_nsec);
	printf("time %lld\n", (long long)time(NULL));
	r = gettimeofday(&tv, NULL);
	printf("gettimeofday %d %lld %ld\n", r, (long long)tv.tv_sec, (long)tv.tv_usec);
	r = clock_getres(CLOCK_MONOTONIC, &ts);
	printf("getres %d %lld %ld\n", r, (long long)ts.tv_sec, (long)ts.tv_nsec);
	printf("getcpu %d\n", sched_getcpu());
	printf("pid %d\n", getpid() > 0);
	return 0;
}
