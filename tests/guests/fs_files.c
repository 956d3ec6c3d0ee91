/* Open files: open/openat/creat/close, read/write/pread/pwrite/readv/writev,
   lseek (and _llseek through lseek64 on i386), O_APPEND/O_TRUNC/O_EXCL, the
   stat family and statx, readdir, truncate. Prints only what does not vary
   between runs. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static void rep(const char *what, long r, int err) {
    if (r == -1)
        printf("%s = -1 %s (%d)\n", what, strerror(err), err);
    else
        printf("%s = %ld\n", what, r);
}
#define T(e) do { errno = 0; long r_ = (long)(e); rep(#e, r_, errno); } while (0)

static void show(const char *name) {
    char buf[256];
    int fd = open(name, O_RDONLY);
    if (fd < 0) { printf("%s: cannot open: %s\n", name, strerror(errno)); return; }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) { printf("%s: read: %s\n", name, strerror(errno)); return; }
    buf[n] = 0;
    printf("%s [%zd]: ", name, n);
    for (ssize_t i = 0; i < n; i++)
        putchar(buf[i] >= 32 && buf[i] < 127 ? buf[i] : buf[i] == '\n' ? '|' : '.');
    putchar('\n');
}

static void pstat(const char *what, const struct stat *st) {
    printf("%s: size %lld mode %o reg %d dir %d lnk %d nlink %ld blocks>0 %d blksize>0 %d\n",
           what, (long long)st->st_size, (unsigned)(st->st_mode & 07777),
           S_ISREG(st->st_mode), S_ISDIR(st->st_mode), S_ISLNK(st->st_mode),
           (long)st->st_nlink, st->st_blocks > 0, st->st_blksize > 0);
}

static int cmpstr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void listdir(const char *path) {
    DIR *d = opendir(path);
    if (!d) { printf("opendir %s: %s\n", path, strerror(errno)); return; }
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64) {
        char t = e->d_type == DT_DIR ? 'd' : e->d_type == DT_REG ? 'f' : e->d_type == DT_LNK ? 'l' : '?';
        names[n] = malloc(strlen(e->d_name) + 3);
        sprintf(names[n], "%s:%c", e->d_name, t);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmpstr);
    printf("%s:", path);
    for (int i = 0; i < n; i++) { printf(" %s", names[i]); free(names[i]); }
    printf("\n");
}

int main(void) {
    umask(022);
    char buf[128];
    int fd;

    /* create, write, reopen, read, seek */
    fd = open("a.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    printf("open created fd %d\n", fd);
    T(write(fd, "hello world\n", 12));
    T(write(fd, "", 0));
    T(close(fd));
    T(close(fd));
    fd = open("a.txt", O_RDONLY);
    memset(buf, 0, sizeof buf);
    T(read(fd, buf, 5));
    printf("read '%s'\n", buf);
    T(lseek(fd, 0, SEEK_CUR));
    T(lseek(fd, 1, SEEK_CUR));
    memset(buf, 0, sizeof buf);
    T(read(fd, buf, sizeof buf));
    printf("read '%s'\n", buf);
    T(read(fd, buf, sizeof buf));
    T(lseek(fd, -3, SEEK_END));
    T(lseek(fd, 100, SEEK_SET));
    T(read(fd, buf, 10));
    T(lseek(fd, -1, SEEK_SET));
    T(lseek(fd, 0, 42));
    memset(buf, 0, sizeof buf);
    T(pread(fd, buf, 5, 6));
    printf("pread '%s'\n", buf);
    T(pread(fd, buf, 5, -1));
    T(pread(fd, buf, 5, 1000));
    T(lseek(fd, 0, SEEK_CUR));
    T(write(fd, "x", 1));           /* EBADF: read-only */
    T(close(fd));
    T(read(fd, buf, 1));

    /* O_APPEND: writes go to the end whatever the offset */
    fd = open("a.txt", O_WRONLY | O_APPEND);
    T(lseek(fd, 0, SEEK_SET));
    T(write(fd, "more\n", 5));
    T(lseek(fd, 0, SEEK_CUR));
    T(close(fd));
    show("a.txt");

    /* O_EXCL, O_TRUNC, O_CREAT without O_EXCL on an existing file */
    T(open("a.txt", O_CREAT | O_EXCL | O_WRONLY, 0600));
    T(open("missing.txt", O_RDONLY));
    T(open("missing-dir/x", O_CREAT | O_WRONLY, 0600));
    T(open("a.txt/x", O_RDONLY));
    T(open(".", O_WRONLY));
    T(open(".", O_RDONLY | O_DIRECTORY) >= 0);
    T(open("a.txt", O_RDONLY | O_DIRECTORY));
    fd = open("b.txt", O_CREAT | O_EXCL | O_RDWR, 0640);
    printf("excl create ok %d\n", fd >= 0);
    T(write(fd, "0123456789", 10));
    T(close(fd));
    fd = open("b.txt", O_RDWR | O_TRUNC);
    struct stat st, st2;
    T(fstat(fd, &st));
    pstat("after O_TRUNC", &st);

    /* pwrite past the end leaves a hole; the offset does not move */
    T(pwrite(fd, "end", 3, 20));
    T(lseek(fd, 0, SEEK_CUR));
    T(pwrite(fd, "x", 1, -5));
    T(fstat(fd, &st));
    pstat("after pwrite", &st);
    memset(buf, 'z', sizeof buf);
    T(pread(fd, buf, 64, 0));
    printf("hole bytes zero: %d, tail '%.3s'\n", buf[0] == 0 && buf[19] == 0, buf + 20);

    /* writev / readv */
    struct iovec iov[3];
    iov[0].iov_base = "one "; iov[0].iov_len = 4;
    iov[1].iov_base = ""; iov[1].iov_len = 0;
    iov[2].iov_base = "two\n"; iov[2].iov_len = 4;
    T(lseek(fd, 0, SEEK_SET));
    T(writev(fd, iov, 3));
    char r1[3] = {0}, r2[16] = {0};
    struct iovec riov[2] = {{r1, 2}, {r2, 15}};
    T(lseek(fd, 0, SEEK_SET));
    T(readv(fd, riov, 2));
    printf("readv '%.2s' '%.6s'\n", r1, r2);
    int minus1 = atoi("-1");
    T(writev(fd, iov, minus1));
    T(readv(fd, riov, 0));

    /* ftruncate / truncate */
    T(ftruncate(fd, 5));
    T(fstat(fd, &st));
    pstat("ftruncate 5", &st);
    T(ftruncate(fd, -1));
    T(close(fd));
    T(truncate("b.txt", 3000));
    T(stat("b.txt", &st));
    pstat("truncate 3000", &st);
    T(truncate("missing.txt", 0));
    T(truncate(".", 0));
    show("b.txt");

    /* creat and openat */
    fd = creat("c.txt", 0600);
    printf("creat ok %d\n", fd >= 0);
    T(write(fd, "via creat\n", 10));
    T(read(fd, buf, 1));            /* creat opens write-only */
    T(close(fd));
    T(mkdir("d", 0755));
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    fd = openat(dfd, "inner.txt", O_CREAT | O_WRONLY, 0644);
    T(write(fd, "inner\n", 6));
    T(close(fd));
    fd = openat(dfd, "../a.txt", O_RDONLY);
    T(read(fd, buf, 5));
    T(close(fd));
    T(openat(dfd, "nope", O_RDONLY));
    T(openat(12345, "nope", O_RDONLY));
    fd = open("a.txt", O_RDONLY);
    T(openat(fd, "x", O_RDONLY));   /* ENOTDIR: dirfd is a file */
    T(close(fd));
    fd = openat(AT_FDCWD, "d/inner.txt", O_RDONLY);
    T(read(fd, buf, 100));
    T(close(fd));

    /* the stat family */
    T(stat("a.txt", &st));
    pstat("stat a.txt", &st);
    fd = open("a.txt", O_RDONLY);
    T(fstat(fd, &st2));
    printf("stat/fstat ino equal: %d dev equal: %d\n", st.st_ino == st2.st_ino,
           st.st_dev == st2.st_dev);
    T(fstatat(dfd, "inner.txt", &st, 0));
    pstat("fstatat inner", &st);
    T(fstatat(dfd, "", &st, AT_EMPTY_PATH));
    pstat("fstatat empty path", &st);
    T(fstatat(dfd, "", &st, 0));
    T(fstatat(AT_FDCWD, "", &st, AT_EMPTY_PATH));
    printf("fstatat of the cwd is a directory: %d\n", S_ISDIR(st.st_mode));
    T(fstatat(AT_FDCWD, "d", &st, 0));
    pstat("fstatat d", &st);
    T(stat("missing", &st));
    T(stat("a.txt/", &st));
    T(stat("d/", &st));
    T(fstat(999, &st));
    T(symlink("a.txt", "lnk"));
    T(lstat("lnk", &st));
    pstat("lstat lnk", &st);
    T(stat("lnk", &st));
    printf("stat through link ino equal: %d\n", st.st_ino == st2.st_ino);
    T(fstatat(AT_FDCWD, "lnk", &st, AT_SYMLINK_NOFOLLOW));
    printf("nofollow is link: %d\n", S_ISLNK(st.st_mode));
    T(fstatat(AT_FDCWD, "lnk", &st, 0x40000));

    /* statx through the raw system call (both libcs have the number) */
    unsigned char sx[256];
    memset(sx, 0xAA, sizeof sx);
    T(syscall(SYS_statx, AT_FDCWD, "a.txt", 0, 0x7ff, sx));
    uint32_t mask, nlink; uint16_t mode; uint64_t ino, size;
    memcpy(&mask, sx, 4); memcpy(&nlink, sx + 16, 4); memcpy(&mode, sx + 28, 2);
    memcpy(&ino, sx + 32, 8); memcpy(&size, sx + 40, 8);
    printf("statx: basic mask %d nlink %u mode %o size %llu ino equal %d\n",
           (mask & 0x7ff) == 0x7ff, nlink, mode, (unsigned long long)size, ino == st2.st_ino);
    T(syscall(SYS_statx, fd, "", AT_EMPTY_PATH, 0x7ff, sx));
    memcpy(&size, sx + 40, 8);
    printf("statx fd size %llu\n", (unsigned long long)size);
    T(syscall(SYS_statx, AT_FDCWD, "missing", 0, 0x7ff, sx));
    T(syscall(SYS_statx, AT_FDCWD, "a.txt", 0x6000, 0x7ff, sx));
    T(syscall(SYS_statx, AT_FDCWD, "a.txt", 0, 0x80000000u, sx));
    T(close(fd));

    /* directory listing through getdents64 */
    T(symlink("d", "dlink"));
    listdir(".");
    listdir("d");
    listdir("a.txt");
    listdir("missing");
    T(close(dfd));

    /* big offsets: lseek64 is _llseek on i386 */
    fd = open("big", O_CREAT | O_RDWR, 0644);
    off64_t o = lseek64(fd, 5LL << 30, SEEK_SET);
    printf("lseek64 5G = %lld\n", (long long)o);
    T(write(fd, "!", 1));
    off64_t e = lseek64(fd, 0, SEEK_END);
    printf("lseek64 end = %lld\n", (long long)e);
    o = lseek64(fd, -1, SEEK_CUR);
    printf("lseek64 cur-1 = %lld\n", (long long)o);
    T(ftruncate(fd, 0));
    T(close(fd));
    return 0;
}
