/* RLIMIT_NOFILE bounds the descriptor table: the lowest free fd past the
   soft limit is EMFILE, dup2 past it EBADF, F_DUPFD past it EINVAL; a
   raised limit lets fds past 1024 be made; nr_open caps the hard limit. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void show(const char *what, long r)
{
    printf("%-22s %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

int main(void)
{
    struct rlimit orig, rl;
    getrlimit(RLIMIT_NOFILE, &orig);
    rl.rlim_cur = 40;
    rl.rlim_max = orig.rlim_max;
    show("setrlimit 40", setrlimit(RLIMIT_NOFILE, &rl));
    int n = 0, last = -1;
    for (;;) {
        int fd = dup(0);
        if (fd < 0) {
            show("dup at the limit", fd);
            break;
        }
        last = fd;
        n++;
    }
    printf("highest fd %d\n", last);
    show("dup2 to 40", dup2(0, 40));
    show("dup2 to 39", dup2(0, 39));
    show("F_DUPFD 40", fcntl(0, F_DUPFD, 40));
    for (int fd = 3; fd <= 39; fd++)
        close(fd);
    rl.rlim_cur = 3000 < orig.rlim_max ? 3000 : orig.rlim_max;
    show("setrlimit 3000", setrlimit(RLIMIT_NOFILE, &rl));
    long hi = dup2(0, 2500);
    show("dup2 to 2500", hi);
    show("F_DUPFD 2000", fcntl(0, F_DUPFD, 2000));
    show("close 2500", close(2500));
    struct rlimit huge = {RLIM_INFINITY, RLIM_INFINITY};
    show("setrlimit infinity", setrlimit(RLIMIT_NOFILE, &huge));
    struct rlimit bad = {10, 5};
    show("setrlimit cur>max", setrlimit(RLIMIT_NOFILE, &bad));
    return 0;
}
