/* A directory descriptor from outside the root, received with SCM_RIGHTS
 * from a host process on an abstract socket: never a base for a path walk.
 *   confine_scm NAME   (NAME: the abstract socket, without its NUL) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void try(const char *what, int fd) {
    char buf[128] = {0};
    if (fd < 0) { printf("%s: %s\n", what, strerror(errno)); return; }
    int n = read(fd, buf, sizeof buf - 1);
    printf("%s: READ %d %s\n", what, n, buf);
    close(fd);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int fd;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t len = strlen(argv[1]);
    memcpy(a.sun_path + 1, argv[1], len);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path) + 1 + len)) {
        printf("connect: %s\n", strerror(errno));
        return 1;
    }
    char data[8], ctl[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {data, sizeof data};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                       .msg_controllen = sizeof ctl};
    if (recvmsg(s, &m, 0) < 0) { printf("recvmsg: %s\n", strerror(errno)); return 1; }
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    struct stat st;
    printf("received a directory: %d\n", fstat(fd, &st) == 0 && S_ISDIR(st.st_mode));
    try("openat(fd, ../secret)", openat(fd, "../secret", O_RDONLY));
    try("openat(fd, secret)", openat(fd, "secret", O_RDONLY));
    try("openat(fd, .)", openat(fd, ".", O_RDONLY));
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d/../secret", fd);
    try("/proc/self/fd/N/../secret", open(path, O_RDONLY));
    snprintf(path, sizeof path, "/proc/self/fd/%d/secret", fd);
    try("/proc/self/fd/N/secret", open(path, O_RDONLY));
    snprintf(path, sizeof path, "/dev/fd/%d/secret", fd);
    try("/dev/fd/N/secret", open(path, O_RDONLY));
    printf("fstatat(fd, secret): %s\n",
           fstatat(fd, "secret", &st, 0) < 0 ? strerror(errno) : "found");
    printf("mkdirat(fd, made): %s\n", mkdirat(fd, "made", 0755) < 0 ? strerror(errno) : "made");
    int dup = fcntl(fd, F_DUPFD, 50);
    try("openat(dup, secret)", openat(dup, "secret", O_RDONLY));
    printf("fchdir(fd): %s\n", fchdir(fd) < 0 ? strerror(errno) : "done");
    try("after fchdir: ../secret", open("../secret", O_RDONLY));
    try("after fchdir: secret", open("secret", O_RDONLY));
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    printf("chdir(/proc/self/fd/N): %s\n", chdir(path) < 0 ? strerror(errno) : "done");
    try("after chdir: secret", open("secret", O_RDONLY));
    printf("fstat(fd) still works: %d\n", fstat(fd, &st) == 0);
    return 0;
}
