/* Less common file calls: mkfifo/mknod, chown to oneself, statfs/fstatfs,
   sendfile, fallocate, preadv/pwritev, renameat2 flags, flock, and the
   memory calls msync/mincore/mlock. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
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

int main(void) {
    struct stat st;
    char buf[64];
    umask(022);

    /* mkfifo / mknod */
    T(mkfifo("fifo", 0666));
    T(lstat("fifo", &st));
    printf("fifo: %d mode %o\n", S_ISFIFO(st.st_mode), (unsigned)(st.st_mode & 07777));
    T(mkfifo("fifo", 0666));
    T(mknod("plain", S_IFREG | 0600, 0));
    T(lstat("plain", &st));
    printf("plain: %d mode %o\n", S_ISREG(st.st_mode), (unsigned)(st.st_mode & 07777));
    T(mknod("bad", 0170000 | 0600, 0));
    T(mknodat(AT_FDCWD, "nodir/x", S_IFIFO | 0600, 0));

    /* chown to what we are keeps things as they are */
    T(chown("plain", getuid(), getgid()));
    T(chown("plain", -1, -1));
    T(lchown("plain", -1, -1));
    int fd = open("plain", O_RDWR);
    T(fchown(fd, -1, getgid()));
    T(fchownat(AT_FDCWD, "plain", -1, -1, AT_SYMLINK_NOFOLLOW));
    T(chown("missing", -1, -1));

    /* statfs */
    struct statfs a, b;
    T(statfs(".", &a));
    T(fstatfs(fd, &b));
    printf("statfs type equal %d bsize equal %d blocks>0 %d namelen %ld\n", a.f_type == b.f_type,
           a.f_bsize == b.f_bsize, a.f_blocks > 0, (long)a.f_namelen);
    T(statfs("missing", &a));

    /* fallocate, pwritev, preadv */
    T(fallocate(fd, 0, 0, 10000));
    T(fstat(fd, &st));
    printf("after fallocate size %lld\n", (long long)st.st_size);
    T(fallocate(fd, 0, -1, 10));
    T(fallocate(fd, 0, 0, 0));
    struct iovec w[2] = {{"abc", 3}, {"defgh", 5}};
    T(pwritev(fd, w, 2, 100));
    char r1[4] = {0}, r2[8] = {0};
    struct iovec r[2] = {{r1, 3}, {r2, 5}};
    T(preadv(fd, r, 2, 101));
    printf("preadv '%s' '%s'\n", r1, r2);
    T(preadv(fd, r, 2, -1));
    T(lseek(fd, 0, SEEK_CUR));

    /* sendfile */
    int out = open("copy", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    off_t off = 100;
    T(sendfile(out, fd, &off, 8));
    printf("offset moved to %lld\n", (long long)off);
    T(lseek(fd, 0, SEEK_CUR));
    T(lseek(fd, 100, SEEK_SET));
    T(sendfile(out, fd, NULL, 4));
    T(lseek(fd, 0, SEEK_CUR));
    close(out);
    int in = open("copy", O_RDONLY);
    memset(buf, 0, sizeof buf);
    T(read(in, buf, sizeof buf));
    printf("copy '%s'\n", buf);
    close(in);

    /* renameat2 */
    int x = open("x", O_CREAT | O_WRONLY, 0644); write(x, "X", 1); close(x);
    int y = open("y", O_CREAT | O_WRONLY, 0644); write(y, "Y", 1); close(y);
    T(syscall(SYS_renameat2, AT_FDCWD, "x", AT_FDCWD, "y", 1));   /* NOREPLACE */
    T(syscall(SYS_renameat2, AT_FDCWD, "x", AT_FDCWD, "y", 2));   /* EXCHANGE */
    x = open("x", O_RDONLY); memset(buf, 0, sizeof buf); read(x, buf, 1); close(x);
    printf("x now holds '%s'\n", buf);
    T(syscall(SYS_renameat2, AT_FDCWD, "x", AT_FDCWD, "z", 3));
    T(syscall(SYS_renameat2, AT_FDCWD, "x", AT_FDCWD, "z", 1));

    /* flock */
    T(flock(fd, LOCK_EX));
    T(flock(fd, LOCK_UN));
    T(flock(fd, LOCK_SH | LOCK_NB));
    T(flock(fd, 0));
    T(flock(999, LOCK_EX));
    close(fd);

    /* utimensat / futimens */
    struct timespec ts[2] = {{1000000000, 123}, {1100000000, 456789}};
    T(utimensat(AT_FDCWD, "copy", ts, 0));
    T(stat("copy", &st));
    printf("times %lld.%ld %lld.%ld\n", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    struct timespec omit[2] = {{5, UTIME_OMIT}, {7, 8}};
    T(utimensat(AT_FDCWD, "copy", omit, 0));
    T(stat("copy", &st));
    printf("omit kept atime %lld, mtime %lld.%ld\n", (long long)st.st_atim.tv_sec,
           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    int cf = open("copy", O_RDONLY);
    T(futimens(cf, ts));
    T(fstat(cf, &st));
    printf("futimens mtime %lld\n", (long long)st.st_mtim.tv_sec);
    close(cf);
    T(symlink("copy", "copylink"));
    T(utimensat(AT_FDCWD, "copylink", omit, AT_SYMLINK_NOFOLLOW));
    T(lstat("copylink", &st));
    printf("link mtime %lld\n", (long long)st.st_mtim.tv_sec);
    T(stat("copy", &st));
    printf("target mtime still %lld\n", (long long)st.st_mtim.tv_sec);
    struct timespec bad[2] = {{0, 2000000000}, {0, 0}};
    T(utimensat(AT_FDCWD, "copy", bad, 0));
    T(utimensat(AT_FDCWD, "copy", ts, 0x4));
    T(utimensat(AT_FDCWD, "missing", ts, 0));

    /* msync / mincore / mlock */
    char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    m[0] = 1;
    T(msync(m, 4096, MS_SYNC));
    T(msync(m, 4096, MS_SYNC | MS_ASYNC));
    T(msync(m + 1, 4096, MS_SYNC));
    munmap(m + 4096, 4096);
    T(msync(m, 3 * 4096, MS_ASYNC));
    unsigned char vec[3];
    T(mincore(m, 4096, vec));
    T(mincore(m, 3 * 4096, vec));
    T(mlock(m, 4096));
    T(munlock(m, 4096));
    T(mlock(m, 3 * 4096));
    /* O_TRUNC means nothing to a device; ftruncate of one is EINVAL (with
     * a file mapped, as any dynamic program has, so truncation is careful). */
    int mf = open("mapped", O_RDWR | O_CREAT, 0644);
    write(mf, "m", 1);
    void *fm = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, mf, 0);
    printf("file mapped: %d\n", fm != MAP_FAILED);
    int dn = open("/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0666);
    printf("O_TRUNC of /dev/null: %d\n", dn >= 0);
    int tr = ftruncate(dn, 0);
    printf("ftruncate of /dev/null: %d %s\n", tr, tr ? strerror(errno) : "");
    close(dn);
    /* The kernel's cpumask size, whatever the CPUs present. */
    unsigned long cpus[64];
    long got = syscall(SYS_sched_getaffinity, 0, sizeof cpus, cpus);
    printf("sched_getaffinity: %ld bytes\n", got);
    return 0;
}
