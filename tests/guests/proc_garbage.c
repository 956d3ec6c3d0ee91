/* Bad arguments to the guest's /proc: bad pointers, sizes too small or too
 * large, names that are not there, the wrong kind of object. Compared with
 * Linux. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile long global = 42;
static char big[1 << 16];

#define SHOW(what, expr) do { errno = 0; long r_ = (long)(expr); \
    printf("%-34s %ld %s\n", what, r_ < 0 ? -1L : r_, r_ < 0 ? strerror(errno) : ""); } while (0)

static long gd(int fd, void *buf, unsigned long n) { return syscall(SYS_getdents64, fd, buf, n); }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int d = open("/proc/self/fd", O_RDONLY | O_DIRECTORY);
    SHOW("getdents64 NULL", gd(d, NULL, 4096));
    SHOW("getdents64 bad ptr", gd(d, (void *)8, 4096));
    SHOW("getdents64 count 1", gd(d, big, 1));
    SHOW("getdents64 count 0", gd(d, big, 0));
    long n1 = gd(d, big, sizeof big);
    SHOW("getdents64 all > 0", n1 > 0);
    SHOW("getdents64 at end", gd(d, big, sizeof big));
    lseek(d, 0, SEEK_SET);
    SHOW("getdents64 after rewind same", gd(d, big, sizeof big) == n1);
    SHOW("getdents64 not a dir", gd(open("/proc/self/status", O_RDONLY), big, 4096));
    struct stat st;
    SHOW("fstat dir is dir", fstat(d, &st) == 0 && S_ISDIR(st.st_mode));
    int s = open("/proc/self/status", O_RDONLY);
    SHOW("fstat status is reg", fstat(s, &st) == 0 && S_ISREG(st.st_mode));
    SHOW("openat(file fd, x)", openat(s, "x", O_RDONLY));
    SHOW("status O_DIRECTORY", open("/proc/self/status", O_RDONLY | O_DIRECTORY));
    SHOW("status/", open("/proc/self/status/", O_RDONLY));
    SHOW("self O_WRONLY", open("/proc/self", O_WRONLY));
    SHOW("self O_CREAT", open("/proc/self", O_CREAT | O_RDONLY, 0644));
    SHOW("fd/9999", open("/proc/self/fd/9999", O_RDONLY));
    SHOW("fd/abc", open("/proc/self/fd/abc", O_RDONLY));
    SHOW("fd/-1", open("/proc/self/fd/-1", O_RDONLY));
    SHOW("fd/01", open("/proc/self/fd/01", O_RDONLY));
    SHOW("/proc/00001", open("/proc/00001", O_RDONLY));
    SHOW("nonexistent entry", open("/proc/self/nonexistent", O_RDONLY));
    SHOW("stat/x", open("/proc/self/stat/x", O_RDONLY));
    char buf[64];
    SHOW("readlink NULL buf", readlink("/proc/self/exe", NULL, 10));
    SHOW("readlink size 0", readlink("/proc/self/exe", buf, 0));
    SHOW("readlink size 2", readlink("/proc/self/exe", buf, 2));
    SHOW("readlink not a link", readlink("/proc/self/status", buf, sizeof buf));
    SHOW("readlink bad path", readlink((char *)8, buf, sizeof buf));
    int m = open("/proc/self/mem", O_RDWR);
    SHOW("mem read bad buf", pread(m, (void *)8, 8, (off_t)(uintptr_t)&global));
    SHOW("mem write bad buf", pwrite(m, (void *)8, 8, (off_t)(uintptr_t)&global));
    SHOW("mem read big", pread(m, big, sizeof big, (off_t)(uintptr_t)&global) > 0);
    SHOW("mem read at 0", pread(m, buf, 8, 0));
    SHOW("mem read kernel", pread(m, buf, 8, (off_t)0xffffffff81000000ULL));
    SHOW("mem read count 0", pread(m, buf, 0, (off_t)(uintptr_t)&global));
    int ro = open("/proc/self/mem", O_RDONLY);
    SHOW("mem write on O_RDONLY", pwrite(ro, buf, 1, (off_t)(uintptr_t)&global));
    SHOW("mem lseek", lseek(ro, (off_t)(uintptr_t)&global, SEEK_SET) == (off_t)(uintptr_t)&global);
    int pm = open("/proc/self/pagemap", O_RDONLY);
    uint64_t word = 0;
    SHOW("pagemap short", pread(pm, &word, 4, 0));
    SHOW("pagemap unaligned", pread(pm, &word, 8, 3));
    SHOW("pagemap global", pread(pm, &word, 8, ((uintptr_t)&global / 4096) * 8));
    SHOW("pagemap global present", (long)(word >> 63));
    SHOW("pagemap unmapped", pread(pm, &word, 8, (0x10000 / 4096) * 8));
    SHOW("pagemap unmapped word", (long)word);
    SHOW("pagemap bad buf", pread(pm, (void *)8, 8, 0));
    SHOW("mkdir /proc/self/fd/x", mkdir("/proc/self/fd/x", 0755));
    SHOW("rmdir /proc/self/fd", rmdir("/proc/self/fd"));
    SHOW("symlink in /proc", symlink("x", "/proc/self/y"));
    SHOW("rename in /proc", rename("/proc/self/status", "/proc/self/stat"));
    SHOW("unlink fd/0", unlink("/proc/self/fd/0"));
    SHOW("mkdir existing", mkdir("/proc/self/fd", 0755));
    SHOW("chdir file", chdir("/proc/self/status"));
    SHOW("fchdir file", fchdir(s));
    SHOW("access status R", access("/proc/self/status", R_OK));
    SHOW("access fd dir X", access("/proc/self/fd", X_OK));
    return 0;
}
