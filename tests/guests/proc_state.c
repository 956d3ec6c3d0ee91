/* What a parent sees of its child's state in /proc/<pid>/stat (LTP's
 * TST_PROCESS_STATE_WAIT): S only once the child is in its blocking call,
 * R while it runs; the same through /proc/<pid>/status. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static char stat_state(pid_t pid)
{
	char buf[512], *p;
	FILE *f;

	snprintf(buf, sizeof buf, "/proc/%d/stat", pid);
	f = fopen(buf, "r");
	if (!f)
		return '?';
	p = fgets(buf, sizeof buf, f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return p ? p[2] : '?';
}

static char status_state(pid_t pid)
{
	char buf[512];
	char s = '?';
	FILE *f;

	snprintf(buf, sizeof buf, "/proc/%d/status", pid);
	f = fopen(buf, "r");
	if (!f)
		return '?';
	while (fgets(buf, sizeof buf, f))
		if (!strncmp(buf, "State:\t", 7))
			s = buf[7];
	fclose(f);
	return s;
}

int main(void)
{
	volatile int *at_read = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int fds[2], round, status;

	setvbuf(stdout, NULL, _IONBF, 0);
	for (round = 0; round < 3; round++) {
		pid_t pid;
		long polls = 0;

		*at_read = 0;
		if (pipe(fds))
			return 1;
		pid = fork();
		if (pid == 0) {
			char c;
			volatile long i;

			for (i = 0; i < 2000000; i++)
				;
			*at_read = 1;
			_exit(read(fds[0], &c, 1) == 1 ? 0 : 1);
		}
		while (stat_state(pid) != 'S' && polls < 10000000)
			polls++;
		printf("round %d: S seen %s, the child %s in its read; status says %c\n",
		       round, polls < 10000000 ? "yes" : "never",
		       *at_read ? "was" : "was not yet", status_state(pid));
		if (write(fds[1], "x", 1) != 1)
			return 1;
		waitpid(pid, &status, 0);
		printf("round %d: child status %d, now %c\n", round, status, stat_state(pid));
		close(fds[0]);
		close(fds[1]);
	}
	return 0;
}
