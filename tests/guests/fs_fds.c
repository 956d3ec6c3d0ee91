/* Descriptors: dup/dup2/dup3, pipe/pipe2 with data through them, fcntl
   (F_GETFD/F_SETFD/F_GETFL/F_SETFL/F_DUPFD/F_DUPFD_CLOEXEC), shared offsets,
   EBADF everywhere, /proc/self/fd. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void rep(const char *what, long r, int err) {
    if (r == -1)
        printf("%s = -1 %s (%d)\n", what, strerror(err), err);
    else
        printf("%s = %ld\n", what, r);
}
#define T(e) do { errno = 0; long r_ = (long)(e); rep(#e, r_, errno); } while (0)

static void flags(const char *what, int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) { printf("%s: F_GETFL %s\n", what, strerror(errno)); return; }
    printf("%s: acc %d append %d nonblock %d largefile %d other %#x\n", what, fl & O_ACCMODE,
           !!(fl & O_APPEND), !!(fl & O_NONBLOCK), !!(fl & 0100000),
           fl & ~(O_ACCMODE | O_APPEND | O_NONBLOCK | 0100000));
}

int main(void) {
    char buf[64];
    int fd = open("f", O_CREAT | O_RDWR | O_TRUNC, 0644);
    T(write(fd, "abcdefghij", 10));
    T(lseek(fd, 2, SEEK_SET));

    /* dup shares the offset */
    int d = dup(fd);
    printf("dup is lowest free: %d\n", d == fd + 1);
    T(read(d, buf, 3));
    T(lseek(fd, 0, SEEK_CUR));
    T(fcntl(d, F_GETFD));
    T(dup(-1));
    T(dup(555));

    /* dup2 / dup3 */
    T(dup2(fd, 10));
    T(lseek(10, 0, SEEK_CUR));
    T(dup2(fd, fd));
    T(dup2(77, 77));
    T(dup2(77, 10));
    T(dup2(fd, -1));
    T(dup2(fd, 100000));
    T(dup3(fd, 11, O_CLOEXEC));
    T(fcntl(11, F_GETFD));
    T(dup3(fd, 11, 0));
    T(fcntl(11, F_GETFD));
    T(dup3(fd, fd, 0));
    T(dup3(fd, 12, 0x4));
    T(close(10));
    T(close(11));
    T(close(d));

    /* fcntl */
    T(fcntl(fd, F_GETFD));
    T(fcntl(fd, F_SETFD, FD_CLOEXEC));
    T(fcntl(fd, F_GETFD));
    T(fcntl(fd, F_SETFD, 0));
    T(fcntl(fd, F_GETFD));
    flags("rdwr file", fd);
    T(fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK | O_RDONLY));
    flags("after setfl", fd);
    T(write(fd, "Z", 1));
    T(lseek(fd, 0, SEEK_CUR));
    T(fcntl(fd, F_SETFL, 0));
    flags("cleared", fd);
    T(fcntl(fd, F_DUPFD, 20));
    T(fcntl(fd, F_DUPFD, 20));
    T(fcntl(20, F_GETFD));
    T(fcntl(fd, F_DUPFD_CLOEXEC, 0));
    T(fcntl(fd, F_GETFD));
    T(fcntl(fd, F_DUPFD, -1));
    T(fcntl(fd, F_DUPFD, 1 << 20));
    T(fcntl(fd, 9999));
    T(fcntl(-1, F_GETFD));
    T(fcntl(99, F_GETFL));
    int ro = open("f", O_RDONLY);
    flags("rdonly", ro);
    int wo = open("f", O_WRONLY | O_APPEND);
    flags("wronly append", wo);
    int dir = open(".", O_RDONLY | O_DIRECTORY);
    flags("directory", dir);
    int pa = open("f", O_PATH);
    flags("O_PATH", pa);
    T(read(pa, buf, 1));
    T(fcntl(pa, F_GETFD));
    T(close(pa));
    T(close(dir));
    T(close(ro));
    T(close(wo));

    /* pipe / pipe2 */
    int p[2];
    T(pipe(p));
    printf("pipe fds are the next two: %d\n", p[1] == p[0] + 1);
    flags("pipe read end", p[0]);
    flags("pipe write end", p[1]);
    T(write(p[1], "through the pipe", 16));
    memset(buf, 0, sizeof buf);
    T(read(p[0], buf, sizeof buf));
    printf("got '%s'\n", buf);
    T(lseek(p[0], 0, SEEK_CUR));
    T(write(p[0], "x", 1));
    T(read(p[1], buf, 1));
    T(close(p[1]));
    T(read(p[0], buf, sizeof buf));
    T(close(p[0]));
    T(pipe2(p, O_CLOEXEC | O_NONBLOCK));
    T(fcntl(p[0], F_GETFD));
    flags("pipe2 nonblock", p[0]);
    T(read(p[0], buf, 1));
    T(pipe2(p, 0x12345));
    /* a big write through a pipe fills it: nonblocking returns short */
    static char big[1 << 17];
    long w = write(p[1], big, sizeof big);
    printf("nonblocking big write short: %d\n", w > 0 && w < (long)sizeof big);
    long total = 0, n;
    while ((n = read(p[0], big, sizeof big)) > 0)
        total += n;
    printf("drained equals written: %d, last errno EAGAIN: %d\n", total == w, errno == EAGAIN);
    T(close(p[0]));
    T(close(p[1]));

    /* /proc/self/fd names an open file */
    char link[64], target[256];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t tl = readlink(link, target, sizeof target - 1);
    if (tl > 0) {
        target[tl] = 0;
        printf("fd link ends with /f: %d\n", tl >= 2 && strcmp(target + tl - 2, "/f") == 0);
    }
    int again = open(link, O_RDONLY);
    memset(buf, 0, sizeof buf);
    T(read(again, buf, 4));
    printf("reopened via /proc/self/fd: '%s'\n", buf);
    T(lseek(again, 0, SEEK_CUR));
    T(close(again));
    T(open("/proc/self/fd/999", O_RDONLY));

    /* links the host would resolve to sysgate itself: /dev/stdin -> /proc/self/fd/0,
       /dev/fd/N, /proc/self/cwd/NAME */
    char in[64] = {0};
    int si = open("/dev/stdin", O_RDONLY);
    printf("open /dev/stdin ok: %d\n", si >= 0);
    T(read(si, in, sizeof in - 1));
    printf("stdin through /dev/stdin: '%s'\n", in);
    T(close(si));
    snprintf(link, sizeof link, "/dev/fd/%d", fd);
    again = open(link, O_RDONLY);
    T(pread(again, buf, 3, 0));
    T(close(again));
    again = open("/proc/self/cwd/f", O_RDONLY);
    memset(buf, 0, sizeof buf);
    T(read(again, buf, 3));
    printf("via /proc/self/cwd: '%s'\n", buf);
    T(close(again));
    T(open("/proc/self/cwd/../nonexistent-dir-xyz/f", O_RDONLY));

    /* everything on a closed fd is EBADF */
    T(close(fd));
    T(close(fd));
    T(read(fd, buf, 1));
    T(write(fd, buf, 1));
    T(lseek(fd, 0, SEEK_SET));
    T(dup(fd));
    T(fcntl(fd, F_GETFL));
    struct stat st;
    T(fstat(fd, &st));
    T(ftruncate(fd, 0));
    T(fsync(fd));
    T(fchdir(fd));
    T(close(-1));
    return 0;
}
