/* RLIMIT_FSIZE (LTP's setrlimit01): a write crossing the limit is cut short
 * at it, one starting at it is EFBIG with SIGXFSZ (ignored here, then
 * caught); writev and pwrite alike; ftruncate growing past it is EFBIG,
 * shrinking is not; a pipe is not limited. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static volatile int caught;
static void on_xfsz(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    caught = sig == SIGXFSZ && si->si_code == SI_USER && si->si_pid == getpid();
}

static void show(const char *what, long r)
{
    printf("%-28s %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

int main(void)
{
    char buf[64];
    memset(buf, 'x', sizeof buf);
    char name[] = "/tmp/fsizeXXXXXX";
    int fd = mkstemp(name);
    unlink(name);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {10, 10};
    show("setrlimit FSIZE 10", setrlimit(RLIMIT_FSIZE, &rl));
    show("write 26", write(fd, buf, 26));
    show("write at the limit", write(fd, buf, 1));
    show("write 0 at the limit", write(fd, buf, 0));
    show("pwrite 8 at 6", pwrite(fd, buf, 8, 6));
    show("pwrite 1 at 10", pwrite(fd, buf, 1, 10));
    struct iovec iov[2] = {{buf, 3}, {buf, 30}};
    lseek(fd, 4, SEEK_SET);
    show("writev 33 at 4", writev(fd, iov, 2));
    show("ftruncate 11", ftruncate(fd, 11));
    show("ftruncate 10", ftruncate(fd, 10));
    show("ftruncate 5", ftruncate(fd, 5));
    struct stat st;
    fstat(fd, &st);
    printf("size %ld\n", (long)st.st_size);
    int p[2];
    pipe(p);
    show("pipe write 26", write(p[1], buf, 26));
    struct sigaction sa = {0};
    sa.sa_sigaction = on_xfsz;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGXFSZ, &sa, NULL);
    lseek(fd, 0, SEEK_END);
    show("write past it, caught", write(fd, buf, 10));
    show("write past it, caught", write(fd, buf, 10));
    printf("SIGXFSZ caught from itself: %d\n", caught);
    return 0;
}
