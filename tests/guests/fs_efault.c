/* Bad user pointers: every call that reads or writes user memory answers
   EFAULT for (void *)1, an unmapped page or a read-only page, and huge
   lengths neither crash nor allocate without bound. Raw syscall(2) is used so
   libc cannot check (or touch) the pointers first. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

#ifdef SYS_stat64
#define STAT_NR SYS_stat64
#define FSTAT_NR SYS_fstat64
#else
#define STAT_NR SYS_stat
#define FSTAT_NR SYS_fstat
#endif

int main(void) {
    void *bad = (void *)1;
    char *ro = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(gone, 4096);
    strcpy(ro, "data.txt");
    mprotect(ro, 8192, PROT_READ);
    /* two pages of which only the first is mapped */
    char *half = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(half + 4096, 4096);
    memset(half, 'h', 4096);

    int fd = open("data.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    char text[8192];
    memset(text, 't', sizeof text);
    write(fd, text, sizeof text);
    lseek(fd, 0, SEEK_SET);

    /* read into bad memory */
    T(syscall(SYS_read, fd, bad, 10));
    T(syscall(SYS_read, fd, gone, 10));
    T(syscall(SYS_read, fd, ro, 10));
    T(syscall(SYS_read, fd, bad, 0));
    T(lseek(fd, 0, SEEK_CUR));
    /* a read that runs off the end of a mapping stops there */
    T(syscall(SYS_read, fd, half + 4000, 200));
    T(lseek(fd, 0, SEEK_CUR));
    T(pread(fd, bad, 10, 0));
    /* write from bad memory */
    T(syscall(SYS_write, fd, bad, 10));
    T(syscall(SYS_write, fd, gone, 10));
    T(syscall(SYS_write, fd, bad, 0));
    T(syscall(SYS_write, fd, ro, 3));          /* readable: fine */
    T(syscall(SYS_write, fd, half + 4000, 200));  /* partial: 96 bytes */
    T(lseek(fd, 0, SEEK_CUR));
    /* huge lengths: bounded by what is mapped, not by the count */
    lseek(fd, 0, SEEK_SET);
    T(syscall(SYS_read, fd, half, 0x7fffffffL));
    lseek(fd, 0, SEEK_SET);
    T(syscall(SYS_write, fd, half, 0x7fffffffL));
    T(syscall(SYS_read, fd, half, (size_t)-1));
    T(syscall(SYS_write, fd, half, (size_t)-1 / 2 + 10));
    T(pread(fd, half, 1L << 30, 0));
    /* iovecs */
    struct iovec iov[2] = {{bad, 5}, {half, 5}};
    T(syscall(SYS_writev, fd, iov, 2));
    T(syscall(SYS_readv, fd, iov, 2));
    T(syscall(SYS_writev, fd, bad, 1));
    T(syscall(SYS_readv, fd, gone, 1));
    struct iovec iov2[2] = {{half, 5}, {bad, 5}};
    lseek(fd, 0, SEEK_SET);
    T(syscall(SYS_readv, fd, iov2, 2));
    T(syscall(SYS_writev, fd, iov2, 2));

    /* paths */
    T(syscall(SYS_open, bad, O_RDONLY));
    T(syscall(SYS_open, gone, O_RDONLY));
    T(syscall(SYS_open, half + 4090, O_RDONLY));  /* string runs off the mapping */
    T(syscall(SYS_openat, AT_FDCWD, ro, O_RDONLY) >= 0);  /* read-only is readable */
    T(syscall(STAT_NR, bad, text));
    T(syscall(STAT_NR, "data.txt", bad));
    T(syscall(STAT_NR, "data.txt", ro));
    T(syscall(STAT_NR, "data.txt", half + 4000));
    T(syscall(FSTAT_NR, fd, bad));
    T(syscall(SYS_mkdir, bad, 0755));
    T(syscall(SYS_unlink, gone));
    T(syscall(SYS_rename, "data.txt", bad));
    T(syscall(SYS_symlink, bad, "x"));
    T(syscall(SYS_access, bad, F_OK));
    T(syscall(SYS_chdir, bad));
    T(syscall(SYS_readlink, "/proc/self/exe", bad, 100));
    T(syscall(SYS_readlink, bad, text, 100));
    T(syscall(SYS_getcwd, bad, 4096));
    T(syscall(SYS_getcwd, ro, 4096));
    T(syscall(SYS_getcwd, NULL, 4096));
    T(syscall(SYS_pipe, bad));
    T(syscall(SYS_pipe, ro));
    T(syscall(SYS_getdents64, fd, bad, 4096));
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    T(syscall(SYS_getdents64, dfd, bad, 4096));
    T(syscall(SYS_getdents64, dfd, ro, 4096));
    T(syscall(SYS_getdents64, dfd, text, 10));
    T(syscall(SYS_statx, AT_FDCWD, "data.txt", 0, 0x7ff, bad));
    T(syscall(SYS_statx, AT_FDCWD, bad, 0, 0x7ff, text));
    char longpath[5000];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = 0;
    T(syscall(SYS_open, longpath, O_RDONLY));
    memset(longpath, 'b', 300);
    longpath[300] = 0;
    T(syscall(SYS_open, longpath, O_RDONLY));
    T(syscall(SYS_uname, bad));
    T(syscall(SYS_clock_gettime, 0, bad));
    T(syscall(SYS_gettimeofday, bad, NULL));
    /* huge sizes for calls that fill a buffer: bounded by what they have */
    symlink("data.txt", "lnk");
    T(syscall(SYS_readlink, "lnk", text, 0x7fffffffL));
    T(syscall(SYS_getcwd, text, 1L << 30) > 0);
    lseek(dfd, 0, SEEK_SET);
    T(syscall(SYS_getdents64, dfd, text, 1L << 30) > 0);
    T(syscall(SYS_getdents64, dfd, text, 0));
    T(syscall(SYS_readv, fd, text, 100000));
#if defined(__x86_64__)
    void *huge = mmap(NULL, 1L << 40, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("1 TiB anonymous mapping: %s\n", huge == MAP_FAILED ? strerror(errno) : "mapped");
    void *resv = mmap(NULL, 1L << 32, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    printf("4 GiB PROT_NONE reservation: %s\n", resv == MAP_FAILED ? strerror(errno) : "mapped");
    if (resv != MAP_FAILED) {
        T(mprotect((char *)resv + (1L << 31), 4096, PROT_READ | PROT_WRITE));
        ((char *)resv)[(1L << 31) + 10] = 1;
        printf("touched inside the reservation\n");
    }
#endif
    printf("still alive\n");
    return 0;
}
