/* Each way of writing and reading a descriptor of /proc/self/mem, at the
   address of a buffer of this process: the plain, positioned and vector
   calls (and the v2 forms, made raw), each into its own piece. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static char target[6][16];
static char back[6][16];

static long v2(long nr, int fd, struct iovec *iov, unsigned long long pos) {
    return syscall(nr, fd, iov, 1, (long)pos, (long)(pos >> 32), 0);
}

int main(void) {
    int fd = open("/proc/self/mem", O_RDWR);
    if (fd < 0) {
        perror("open");
        return 1;
    }
    const char *words[6] = {"write", "pwrite", "writev", "pwritev", "pwritev2", "tail"};
    struct iovec iov;
    long r[6];
    lseek(fd, (off_t)(unsigned long)target[0], SEEK_SET);
    r[0] = write(fd, words[0], 6);
    r[1] = pwrite(fd, words[1], 7, (off_t)(unsigned long)target[1]);
    lseek(fd, (off_t)(unsigned long)target[2], SEEK_SET);
    iov.iov_base = (void *)words[2], iov.iov_len = 7;
    r[2] = writev(fd, &iov, 1);
    iov.iov_base = (void *)words[3], iov.iov_len = 8;
    r[3] = pwritev(fd, &iov, 1, (off_t)(unsigned long)target[3]);
    iov.iov_base = (void *)words[4], iov.iov_len = 9;
    r[4] = v2(SYS_pwritev2, fd, &iov, (unsigned long)target[4]);
    for (int i = 0; i < 5; i++)
        printf("%s: %ld, target '%s'\n", words[i], r[i], target[i]);

    lseek(fd, (off_t)(unsigned long)target[0], SEEK_SET);
    r[0] = read(fd, back[0], 6);
    r[1] = pread(fd, back[1], 7, (off_t)(unsigned long)target[1]);
    lseek(fd, (off_t)(unsigned long)target[2], SEEK_SET);
    iov.iov_base = back[2], iov.iov_len = 7;
    r[2] = readv(fd, &iov, 1);
    iov.iov_base = back[3], iov.iov_len = 8;
    r[3] = preadv(fd, &iov, 1, (off_t)(unsigned long)target[3]);
    iov.iov_base = back[4], iov.iov_len = 9;
    r[4] = v2(SYS_preadv2, fd, &iov, (unsigned long)target[4]);
    for (int i = 0; i < 5; i++)
        printf("read back %d: %ld, '%s'\n", i, r[i], back[i]);
    return 0;
}
