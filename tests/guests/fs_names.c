/* Names: mkdir/rmdir/unlink/unlinkat/rename/renameat, symlink/readlink/
   readlinkat, link, access/faccessat, chdir/fchdir/getcwd, umask, and the
   errno of each usual failure. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void rep(const char *what, long r, int err) {
    if (r == -1)
        printf("%s = -1 %s (%d)\n", what, strerror(err), err);
    else
        printf("%s = %ld\n", what, r);
}
#define T(e) do { errno = 0; long r_ = (long)(e); rep(#e, r_, errno); } while (0)

static void touch(const char *p, const char *text) {
    int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0666);
    if (fd < 0) { printf("touch %s: %s\n", p, strerror(errno)); return; }
    if (text) write(fd, text, strlen(text));
    close(fd);
}

static void cat(const char *p) {
    char buf[128];
    int fd = open(p, O_RDONLY);
    if (fd < 0) { printf("cat %s: %s\n", p, strerror(errno)); return; }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    printf("cat %s: '%s'\n", p, buf);
}

static void mode(const char *p) {
    struct stat st;
    if (lstat(p, &st)) { printf("mode %s: %s\n", p, strerror(errno)); return; }
    printf("mode %s: %o nlink %ld\n", p, (unsigned)(st.st_mode & 07777), (long)st.st_nlink);
}

static void rl(const char *p) {
    char buf[64];
    memset(buf, '#', sizeof buf);
    errno = 0;
    ssize_t n = readlink(p, buf, sizeof buf);
    if (n < 0) printf("readlink %s: %s\n", p, strerror(errno));
    else printf("readlink %s: %zd '%.*s' next '%c'\n", p, n, (int)n, buf, buf[n]);
}

int main(void) {
    char start[4096], cwd[4096], buf[64];
    if (!getcwd(start, sizeof start)) { perror("getcwd"); return 1; }

    /* umask applies to creation modes */
    T(umask(0));
    touch("m666", 0);
    T(mkdir("m777", 0777));
    T(umask(027));
    touch("m640", 0);
    T(mkdir("m750", 0777));
    T(umask(022));
    mode("m666"); mode("m777"); mode("m640"); mode("m750");
    T(mkdir("sticky", 01777));
    mode("sticky");
    T(chmod("m666", 0604));
    mode("m666");
    T(chmod("nope", 0604));

    /* mkdir / rmdir errors */
    T(mkdir("d", 0755));
    T(mkdir("d", 0755));
    T(mkdir("m666/x", 0755));
    T(mkdir("no/such", 0755));
    T(mkdir("d/sub/", 0755));
    T(mkdir(".", 0755));
    T(mkdir("..", 0755));
    touch("d/f", "in d\n");
    T(rmdir("d"));
    T(rmdir("m666"));
    T(rmdir("nope"));
    T(rmdir("d/sub/."));
    T(rmdir("d/sub/.."));
    T(rmdir("d/sub/"));
    T(rmdir("."));

    /* unlink / unlinkat */
    T(unlink("d"));
    T(unlink("nope"));
    T(unlink("m666/"));
    T(unlinkat(AT_FDCWD, "d", 0));
    T(unlinkat(AT_FDCWD, "d", AT_REMOVEDIR));
    T(unlinkat(AT_FDCWD, "m777", AT_REMOVEDIR));
    T(unlinkat(AT_FDCWD, "m777", 0x1234));
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    T(unlinkat(dfd, "f", 0));
    T(unlinkat(dfd, "f", 0));
    T(access("d/f", F_OK));

    /* rename / renameat */
    touch("r1", "r1 text\n");
    touch("r2", "r2 text\n");
    T(rename("r1", "r2"));
    cat("r2");
    T(access("r1", F_OK));
    T(rename("r1", "r3"));
    T(rename("r2", "d/r2"));
    T(renameat(dfd, "r2", AT_FDCWD, "back"));
    cat("back");
    T(mkdir("e", 0755));
    T(mkdir("e2", 0755));
    touch("e2/x", 0);
    T(rename("back", "e"));
    T(rename("e", "back"));
    T(rename("e", "e2"));
    T(rename("e", "d"));
    cat("e");
    T(rename("d", "d/inside"));
    T(rename(".", "dot"));
    T(rename("back", "nodir/back"));
    T(renameat(dfd, "..", AT_FDCWD, "x"));

    /* symlink / readlink / readlinkat */
    T(symlink("back", "sl"));
    T(symlink("dangling-target", "dangle"));
    T(symlink("x", "sl"));
    T(symlink("", "empty"));
    rl("sl");
    rl("dangle");
    rl("back");
    rl("nope");
    cat("sl");
    cat("dangle");
    T(readlinkat(AT_FDCWD, "sl", buf, 2));
    printf("short readlink '%.2s'\n", buf);
    T(readlinkat(AT_FDCWD, "sl", buf, 0));
    T(symlink("../back", "d/up"));
    T(readlinkat(dfd, "up", buf, sizeof buf));
    cat("d/up");
    T(symlink("loop2", "loop1"));
    T(symlink("loop1", "loop2"));
    cat("loop1");
    T(open("sl", O_RDONLY | O_NOFOLLOW));
    T(unlink("dangle"));
    rl("dangle");

    /* link */
    T(link("back", "hard"));
    mode("back");
    mode("hard");
    T(link("back", "hard"));
    T(link("nope", "hard2"));
    T(link("d", "dirlink"));
    T(linkat(AT_FDCWD, "sl", AT_FDCWD, "hl-nofollow", 0));
    T(linkat(AT_FDCWD, "sl", AT_FDCWD, "hl-follow", AT_SYMLINK_FOLLOW));
    mode("hl-nofollow");
    mode("hl-follow");
    T(unlink("hard"));
    mode("back");

    /* access / faccessat */
    T(access("back", R_OK | W_OK));
    T(access("back", X_OK));
    T(access("nope", F_OK));
    T(access("back", 0x40));
    T(faccessat(dfd, "up", R_OK, 0));
    T(faccessat(dfd, "up", R_OK, AT_SYMLINK_NOFOLLOW));
    T(faccessat(AT_FDCWD, "d", X_OK, 0));
    T(access("back/", F_OK));

    /* chdir / fchdir / getcwd */
    T(chdir("d"));
    if (getcwd(cwd, sizeof cwd))
        printf("cwd is start/d: %d\n", strncmp(cwd, start, strlen(start)) == 0 &&
               strcmp(cwd + strlen(start), "/d") == 0);
    cat("up");
    cat("../back");
    T(chdir(".."));
    T(chdir("nope"));
    T(chdir("back"));
    T(fchdir(dfd));
    if (getcwd(cwd, sizeof cwd))
        printf("fchdir cwd is start/d: %d\n", strcmp(cwd + strlen(start), "/d") == 0);
    int fd = open("../back", O_RDONLY);
    T(fchdir(fd));
    T(fchdir(-1));
    T(close(fd));
    T(chdir(start));
    T(getcwd(cwd, 1) == NULL);
    T(syscall(SYS_getcwd, cwd, 2));
    long n = syscall(SYS_getcwd, cwd, sizeof cwd);
    printf("raw getcwd length is strlen+1: %d\n", n == (long)strlen(start) + 1);
    T(mkdir("deep", 0755));
    T(chdir("deep"));
    T(chdir("../d/.."));
    if (getcwd(cwd, sizeof cwd))
        printf("cwd back at start: %d\n", strcmp(cwd, start) == 0);
    T(chdir("sl/"));
    T(chdir("/"));
    if (getcwd(cwd, sizeof cwd))
        printf("cwd is '%s'\n", cwd);
    T(chdir(".."));
    if (getcwd(cwd, sizeof cwd))
        printf("cwd is '%s'\n", cwd);
    T(chdir(start));
    T(close(dfd));
    return 0;
}
