/* A thread that lives until told to end (a line on stdin), then the
 * process alone: the test reads sysgate's host CPU masks at each step. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *worker(void *arg)
{
	char c;
	(void)arg;
	return read(0, &c, 1) == 1 ? NULL : (void *)1;
}

int main(void)
{
	pthread_t t;
	void *r;
	char c;

	if (pthread_create(&t, NULL, worker, NULL))
		return 1;
	printf("two threads\n");
	fflush(stdout);
	pthread_join(t, &r);
	printf("one thread %d\n", r == NULL);
	fflush(stdout);
	return read(0, &c, 1) == 1 ? 0 : 2;
}
