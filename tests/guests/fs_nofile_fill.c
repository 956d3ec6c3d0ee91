/* Every descriptor RLIMIT_NOFILE allows can be made (LTP's dup03, pipe06,
 * pipe07): dup and pipe fill the table up to sysconf(_SC_OPEN_MAX) - 1, then
 * EMFILE; raised to the hard limit, up to that. Prints only what holds
 * whatever the limits are (sysgate's own descriptors share the host's). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static int fill_dup(long limit)
{
    int last = 2, fd;
    while ((fd = dup(0)) >= 0)
        last = fd;
    int e = errno;
    printf("  dup: highest fd is the limit - 1: %s; then %s\n", last == limit - 1 ? "yes" : "no",
           strerror(e));
    for (fd = 3; fd <= last; fd++)
        close(fd);
    return last;
}

static void fill_pipe(long limit)
{
    int p[2], last = 2;
    while (pipe(p) == 0)
        last = p[1];
    int e = errno;
    printf("  pipe: highest fd within one of the limit: %s; then %s\n",
           last >= limit - 2 ? "yes" : "no", strerror(e));
    for (int fd = 3; fd <= last; fd++)
        close(fd);
}

int main(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    long open_max = sysconf(_SC_OPEN_MAX);
    printf("sysconf(_SC_OPEN_MAX) is the soft limit: %s\n",
           open_max == (long)rl.rlim_cur ? "yes" : "no");
    printf("soft <= hard: %s\n", rl.rlim_cur <= rl.rlim_max ? "yes" : "no");
    fill_dup(open_max);
    fill_pipe(open_max);
    if (rl.rlim_max > 100000)
        rl.rlim_max = 100000;       /* the test runs with small hard limits */
    rl.rlim_cur = rl.rlim_max;
    printf("raised to the hard limit: %d\n", setrlimit(RLIMIT_NOFILE, &rl));
    fill_dup(rl.rlim_cur);
    printf("dup2 to the limit - 1: %s\n",
           dup2(0, (int)rl.rlim_cur - 1) == (int)rl.rlim_cur - 1 ? "yes" : strerror(errno));
    return 0;
}
