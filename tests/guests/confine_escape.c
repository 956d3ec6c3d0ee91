/* Tries every way out of the root directory sysgate confines it to; prints
   what each attempt read (the test asserts the secret never shows up) and
   reads the files that are inside.
   argv[1]: host path of the secret file (outside the root)
   argv[2]: host path of a directory outside the root, where writes must not land
   argv[3]: the root's host path */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void show_fd(const char *what, int fd) {
    if (fd < 0) { printf("%s: denied (%s)\n", what, strerror(errno)); return; }
    char buf[200];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n < 0) { printf("%s: opened, read failed (%s)\n", what, strerror(errno)); close(fd); return; }
    buf[n] = 0;
    for (ssize_t i = 0; i < n; i++) if (buf[i] == '\n') buf[i] = '|';
    printf("%s: read '%s'\n", what, buf);
    close(fd);
}

static void try_open(const char *what, const char *path) {
    show_fd(what, open(path, O_RDONLY));
}

static void try_at(const char *what, int dfd, const char *path) {
    show_fd(what, openat(dfd, path, O_RDONLY));
}

static void listing(const char *path) {
    DIR *d = opendir(path);
    if (!d) { printf("list %s: %s\n", path, strerror(errno)); return; }
    struct dirent *e;
    printf("list %s:", path);
    while ((e = readdir(d)))
        printf(" %s", e->d_name);   /* order does not matter to the test */
    printf("\n");
    closedir(d);
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    const char *secret = argv[1], *outside = argv[2], *roothost = argv[3];
    char p[8192], cwd[4096];

    /* inside the root: readable */
    try_open("inside /hello.txt", "/hello.txt");
    try_open("inside relative sub/inner.txt", "sub/inner.txt");
    try_open("inside via /sub/../hello.txt", "/sub/../hello.txt");
    listing("/");

    /* .. and absolute paths */
    try_open("../secret", "../secret.txt");
    try_open("../../../../../../secret", "../../../../../../secret.txt");
    snprintf(p, sizeof p, "/../../../..%s", secret);
    try_open("/../..<secret path>", p);
    try_open("secret host path", secret);
    snprintf(p, sizeof p, "%s/hello.txt", roothost);
    try_open("root's own host path", p);
    snprintf(p, sizeof p, "../../../../../../../../..%s", secret);
    try_open("relative climb to secret path", p);
    listing("/..");
    listing("../../..");

    /* symlinks made by the test: absolute to the host path, relative climbing */
    try_open("abs symlink to secret", "/abs_link");
    try_open("rel symlink climbing", "/sub/rel_link");
    try_open("dir symlink to parent", "/up_link/secret.txt");
    try_open("dir symlink to parent, twice", "/up_link/up_link/secret.txt");
    /* symlinks made by the guest */
    printf("symlink abs: %d\n", symlink(secret, "/g_abs"));
    try_open("guest abs symlink", "/g_abs");
    printf("symlink rel: %d\n", symlink("../../../../../../../../secret.txt", "/sub/g_rel"));
    try_open("guest rel symlink", "/sub/g_rel");
    try_open("guest rel symlink, relative", "sub/g_rel");

    /* /proc magic links */
    snprintf(p, sizeof p, "/proc/self/root%s", secret);
    try_open("/proc/self/root/<secret>", p);
    try_open("/proc/self/root/../secret", "/proc/self/root/../secret.txt");
    try_open("/proc/self/cwd/../secret", "/proc/self/cwd/../secret.txt");
    int rootfd = open("/", O_RDONLY | O_DIRECTORY);
    snprintf(p, sizeof p, "/proc/self/fd/%d/../secret.txt", rootfd);
    try_open("/proc/self/fd/N/../secret", p);
    snprintf(p, sizeof p, "/proc/self/fd/%d/hello.txt", rootfd);
    try_open("/proc/self/fd/N/hello.txt (inside)", p);
    printf("symlink to /proc/self/root: %d\n", symlink("/proc/self/root", "/g_proc"));
    snprintf(p, sizeof p, "/g_proc%s", secret);
    try_open("symlink to /proc/self/root + secret", p);
    try_open("symlink to /proc/self/root + ../secret", "/g_proc/../secret.txt");

    /* dirfd + .. */
    try_at("openat(/, ..)/secret", rootfd, "../secret.txt");
    try_at("openat(/, ../../..)/secret", rootfd, "../../../secret.txt");
    int subfd = open("/sub", O_RDONLY | O_DIRECTORY);
    try_at("openat(/sub, ../../secret)", subfd, "../../secret.txt");
    try_at("openat(/sub, inner.txt)", subfd, "inner.txt");
    int up = openat(rootfd, "..", O_RDONLY | O_DIRECTORY);
    try_at("openat(openat(/, ..), secret)", up, "secret.txt");
    if (up >= 0) close(up);
    int pathfd = open("/sub", O_PATH);
    try_at("openat(O_PATH /sub, ../../secret)", pathfd, "../../secret.txt");

    /* chdir .. repeatedly */
    for (int i = 0; i < 20; i++) chdir("..");
    printf("cwd after chdir ..: '%s'\n", getcwd(cwd, sizeof cwd));
    try_open("after chdir .., secret.txt", "secret.txt");
    try_open("after chdir .., ../secret.txt", "../secret.txt");
    fchdir(subfd);
    for (int i = 0; i < 20; i++) chdir("../");
    printf("cwd after fchdir + chdir ..: '%s'\n", getcwd(cwd, sizeof cwd));
    printf("chdir to secret dir by host path: %d\n", chdir(outside));
    chdir("/");

    /* rename / link tricks */
    printf("link secret host path: %d (%s)\n", link(secret, "/stolen_link"), strerror(errno));
    try_open("stolen hard link", "/stolen_link");
    printf("link ../secret: %d (%s)\n", link("../secret.txt", "/stolen_link2"), strerror(errno));
    printf("linkat follow abs symlink: %d (%s)\n",
           linkat(AT_FDCWD, "/abs_link", AT_FDCWD, "/stolen_link3", AT_SYMLINK_FOLLOW), strerror(errno));
    try_open("linkat follow result", "/stolen_link3");
    printf("linkat follow guest symlink: %d (%s)\n",
           linkat(AT_FDCWD, "/g_abs", AT_FDCWD, "/stolen_link4", AT_SYMLINK_FOLLOW), strerror(errno));
    try_open("linkat follow guest result", "/stolen_link4");
    printf("linkat follow rel symlink: %d (%s)\n",
           linkat(AT_FDCWD, "/sub/rel_link", AT_FDCWD, "/stolen_link5", AT_SYMLINK_FOLLOW), strerror(errno));
    try_open("linkat follow rel result", "/stolen_link5");
    printf("rename secret in: %d (%s)\n", rename(secret, "/stolen_ren"), strerror(errno));
    printf("rename ../secret in: %d (%s)\n", rename("../secret.txt", "/stolen_ren2"), strerror(errno));
    try_open("renamed", "/stolen_ren2");
    printf("linkat AT_EMPTY_PATH of rootfd: %d (%s)\n",
           linkat(rootfd, "", AT_FDCWD, "/rootlink", AT_EMPTY_PATH), strerror(errno));
    printf("readlink abs_link: ");
    ssize_t n = readlink("/abs_link", p, sizeof p - 1);
    printf("%zd\n", n > 0 ? (ssize_t)1 : n);

    /* writes that must stay inside */
    int fd = creat("../../../../escaped_creat", 0644);
    printf("creat ../..: %d\n", fd >= 0);
    if (fd >= 0) close(fd);
    snprintf(p, sizeof p, "%s/escaped_abs", outside);
    fd = creat(p, 0644);
    printf("creat outside host path: %s\n", fd >= 0 ? "created (inside)" : strerror(errno));
    if (fd >= 0) close(fd);
    printf("mkdir /../escaped_dir: %d\n", mkdir("/../escaped_dir", 0755));
    printf("mkdir ../../escaped_dir2: %d\n", mkdir("../../escaped_dir2", 0755));
    printf("symlink ../../escaped_sym: %d\n", symlink("x", "../../escaped_sym"));
    fd = open("/w_abs", O_CREAT | O_WRONLY, 0644);    /* dangling abs link to outside */
    printf("create through abs symlink: %s\n", fd >= 0 ? "created (inside)" : strerror(errno));
    if (fd >= 0) close(fd);
    fd = open("/w_rel", O_CREAT | O_WRONLY, 0644);    /* dangling rel link climbing */
    printf("create through rel symlink: %s\n", fd >= 0 ? "created (inside)" : strerror(errno));
    if (fd >= 0) close(fd);
    snprintf(p, sizeof p, "/up_link/escaped_up");
    fd = creat(p, 0644);
    printf("create through up_link: %s\n", fd >= 0 ? "created (inside)" : strerror(errno));
    if (fd >= 0) close(fd);
    printf("mkdir through up_link: %d\n", mkdir("/up_link/escaped_updir", 0755));
    printf("symlink through up_link: %d\n", symlink("x", "/up_link/escaped_upsym"));
    printf("rename into up_link: %d\n", rename("/hello2.txt", "/up_link/escaped_ren"));
    printf("mkdirat rootfd ..: %d\n", mkdirat(rootfd, "../escaped_at", 0755));
    printf("unlink ../secret: %d\n", unlink("../secret.txt"));
    printf("unlink secret host path: %d\n", unlink(secret));
    snprintf(p, sizeof p, "/proc/self/fd/%d/../escaped_proc", rootfd);
    fd = creat(p, 0644);
    printf("creat via /proc/self/fd/N/..: %s\n", fd >= 0 ? "created (inside)" : strerror(errno));
    if (fd >= 0) close(fd);
    printf("truncate secret: %d\n", truncate(secret, 0));
    printf("chmod secret: %d\n", chmod(secret, 0777));
    printf("truncate abs_link: %d\n", truncate("/abs_link", 0));
    printf("chmod abs_link: %d\n", chmod("/abs_link", 0777));

    struct timespec zero[2] = {{0, 0}, {0, 0}};
    printf("utimensat abs_link nofollow: %d\n",
           utimensat(AT_FDCWD, "/abs_link", zero, AT_SYMLINK_NOFOLLOW));
    printf("utimensat abs_link: %d\n", utimensat(AT_FDCWD, "/abs_link", zero, 0));
    printf("utimensat secret: %d\n", utimensat(AT_FDCWD, secret, zero, 0));
    printf("chown abs_link: %d\n", chown("/abs_link", 1234, 1234));
    printf("lchown abs_link: %d\n", lchown("/abs_link", 1234, 1234));
    printf("fchownat abs_link nofollow: %d\n",
           fchownat(AT_FDCWD, "/abs_link", 1234, 1234, AT_SYMLINK_NOFOLLOW));

    /* device nodes would reach the disk below the root, or memory */
    struct stat rs;
    stat("/", &rs);
    printf("mknod block device of the root's disk: %d (%s)\n",
           mknod("/disk", S_IFBLK | 0600, rs.st_dev), strerror(errno));
    printf("mknod /dev/mem: %d (%s)\n", mknod("/mem", S_IFCHR | 0600, makedev(1, 1)),
           strerror(errno));
    printf("mknod fifo: %d\n", mknod("/fifo", S_IFIFO | 0600, 0));

    /* reading through /proc/self/fd of an inside file still works */
    fd = open("/hello.txt", O_RDONLY);
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    try_open("reopen via /proc/self/fd", p);
    n = readlink(p, cwd, sizeof cwd - 1);
    if (n > 0) { cwd[n] = 0; printf("fd link: '%s'\n", cwd); }
    close(fd);
    n = readlink("/proc/self/cwd", cwd, sizeof cwd - 1);
    if (n > 0) { cwd[n] = 0; printf("cwd link: '%s'\n", cwd); }
    n = readlink("/proc/self/root", cwd, sizeof cwd - 1);
    if (n > 0) { cwd[n] = 0; printf("root link: '%s'\n", cwd); }
    printf("done\n");
    return 0;
}
