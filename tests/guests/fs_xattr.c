/* Extended attributes: set, get, list and remove, on a path, on a symlink
 * itself (l*) and on an fd, with the errors Linux gives: ENODATA, ERANGE
 * for a short buffer or a bad name, EEXIST/ENODATA for XATTR_CREATE and
 * XATTR_REPLACE, EINVAL for bad flags, E2BIG, EFAULT, and EPERM for user.*
 * attributes on a symlink. Run in an empty directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#define SHOW(call) do { errno = 0; long r_ = (long)(call); \
    printf("%-44s = %ld %s\n", #call, r_, r_ < 0 ? strerror(errno) : ""); } while (0)

int main(void) {
    close(open("f", O_CREAT | O_WRONLY, 0644));
    symlink("f", "l");
    char buf[64] = {0};
    char big[300];
    memset(big, 'a', sizeof big);
    big[sizeof big - 1] = 0;
    SHOW(setxattr("f", "user.one", "value", 5, 0));
    if (errno == ENOTSUP || errno == EOPNOTSUPP) {
        printf("no user xattrs here\n");
        return 0;
    }
    SHOW(getxattr("f", "user.one", NULL, 0));
    SHOW(getxattr("f", "user.one", buf, sizeof buf));
    printf("value %s\n", buf);
    SHOW(getxattr("f", "user.one", buf, 2));
    SHOW(getxattr("l", "user.one", buf, sizeof buf));
    SHOW(lgetxattr("l", "user.one", buf, sizeof buf));
    SHOW(getxattr("f", "user.none", buf, sizeof buf));
    SHOW(getxattr("f", "", buf, sizeof buf));
    SHOW(getxattr("f", big, buf, sizeof buf));
    SHOW(getxattr("f", (char *)8, buf, sizeof buf));
    SHOW(getxattr("missing", "user.one", buf, sizeof buf));
    SHOW(setxattr("f", "user.one", "x", 1, XATTR_CREATE));
    SHOW(setxattr("f", "user.two", "x", 1, XATTR_REPLACE));
    SHOW(setxattr("f", "user.two", "22", 2, XATTR_CREATE));
    SHOW(setxattr("f", "user.two", "22", 2, 4));
    SHOW(setxattr("f", "user.big", "x", 70000, 0));
    SHOW(setxattr("f", "user.bad", (char *)8, 4, 0));
    SHOW(lsetxattr("l", "user.one", "x", 1, 0));
    SHOW(listxattr("f", NULL, 0));
    memset(buf, 0, sizeof buf);
    long n = listxattr("l", buf, sizeof buf);
    printf("list through the link: %ld:", n);
    for (char *p = buf; p < buf + n; p += strlen(p) + 1)
        printf(" %s", p);
    printf("\n");
    SHOW(listxattr("f", buf, 3));
    SHOW(llistxattr("l", buf, sizeof buf));
    int fd = open("f", O_RDWR);
    SHOW(fsetxattr(fd, "user.three", "333", 3, 0));
    SHOW(fgetxattr(fd, "user.three", buf, sizeof buf));
    SHOW(flistxattr(fd, NULL, 0));
    SHOW(fremovexattr(fd, "user.three"));
    SHOW(fremovexattr(fd, "user.three"));
    SHOW(fgetxattr(99, "user.one", buf, sizeof buf));
    int pfd = open("f", O_PATH);
    SHOW(fgetxattr(pfd, "user.one", buf, sizeof buf));
    SHOW(removexattr("f", "user.two"));
    SHOW(lremovexattr("l", "user.one"));
    SHOW(removexattr("l", "user.one"));
    SHOW(listxattr("f", NULL, 0));
    return 0;
}
