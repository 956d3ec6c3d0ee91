/* The affinity a program sees, one thread or several (sysgate holds a
 * threaded process's host threads on one CPU: the guest must not see
 * that), then after it pins itself: sched_getaffinity and the two
 * Cpus_allowed lines of /proc/self/status. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void show(const char *when)
{
	char line[256];
	cpu_set_t set;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "Cpus_allowed", 12))
			printf("%s: %s", when, line);
	if (f)
		fclose(f);
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		printf("%s: %d CPUs\n", when, CPU_COUNT(&set));
}

static void *worker(void *arg)
{
	char c;

	return read(0, &c, 1) < 0 ? arg : NULL;
}

int main(void)
{
	pthread_t t;
	cpu_set_t set;
	long last = sysconf(_SC_NPROCESSORS_ONLN) - 1;

	show("one thread");
	if (pthread_create(&t, NULL, worker, NULL))
		return 1;
	show("two threads");
	CPU_ZERO(&set);
	CPU_SET(last, &set);
	if (sched_setaffinity(0, sizeof set, &set))
		perror("sched_setaffinity");
	show("pinned to the last");
	pthread_join(t, NULL);
	return 0;
}
