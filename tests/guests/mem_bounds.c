/* Memory that is mapped but never touched must cost the host nothing,
   whatever the guest then does with it: each case maps 1 GiB (or asks for
   something as large) and does one cheap operation. The test measures the
   peak RSS of sysgate against a plain run; here each case also prints what
   Linux answers, compared with the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define G (1UL << 30)
#define PG 4096UL

static void rep(const char *what, long r) {
    if (r == -1)
        printf("%s = -1 %s\n", what, strerror(errno));
    else
        printf("%s = %ld\n", what, r);
}
#define T(e) do { errno = 0; long r_ = (long)(e); rep(#e, r_); } while (0)

static char *map1g(int prot) {
    char *p = mmap(0, G, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); exit(1); }
    return p;
}

int main(int argc, char **argv) {
    const char *c = argc > 1 ? argv[1] : "plain";
    if (!strcmp(c, "plain")) {
        printf("plain\n");
    } else if (!strcmp(c, "map")) {
        char *p = map1g(PROT_READ | PROT_WRITE);
        p[0] = 1; p[G - 1] = 2;
        printf("touched ends: %d %d\n", p[0], p[G - 1]);
    } else if (!strcmp(c, "mprotect")) {
        char *p = map1g(PROT_READ | PROT_WRITE);
        p[0] = 5;
        T(mprotect(p + 512 * 1024 * 1024, PG, PROT_READ));
        T(mprotect(p, PG, PROT_NONE));
        T(mprotect(p, PG, PROT_READ | PROT_WRITE));
        printf("kept: %d, far page: %d\n", p[0], p[G - 1]);
    } else if (!strcmp(c, "munmap")) {
        char *p = map1g(PROT_READ | PROT_WRITE);
        p[G / 2 + PG] = 9;
        T(munmap(p + G / 2, PG));
        printf("kept: %d\n", p[G / 2 + PG]);
    } else if (!strcmp(c, "mremap")) {
        char *p = map1g(PROT_READ | PROT_WRITE);
        p[5] = 7;
        char *q = mremap(p, G, 2 * G, MREMAP_MAYMOVE);
        printf("grown: %d, kept: %d\n", q != MAP_FAILED, q[5]);
        q = mremap(q, 2 * G, G / 2, 0);
        printf("shrunk in place: %d, kept: %d\n", q != MAP_FAILED, q[5]);
        char *d = mmap(0, G, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        char *r = mremap(q, G / 2, G / 2, MREMAP_MAYMOVE | MREMAP_FIXED, d);
        printf("moved: %d, kept: %d\n", r == d, r[5]);
        errno = 0;
        char *f = mremap(r, G / 2, (size_t)(sizeof(long) == 8 ? (1ULL << 40) : 0xF0000000UL), 0);
        printf("grow to 1 TiB in place: %s, still there: %d\n",
               f == MAP_FAILED ? strerror(errno) : "ok", r[5]);
    } else if (!strcmp(c, "madvise")) {
        char *p = map1g(PROT_READ | PROT_WRITE);
        p[0] = 3; p[PG] = 4;
        T(madvise(p, G, MADV_DONTNEED));
        printf("zeroed: %d %d\n", p[0], p[PG]);
        p[PG] = 4;
        T(madvise(p + PG, -PG, MADV_DONTNEED));
        T(madvise(p + PG, -2 * PG, MADV_DONTNEED));
        printf("above kept: %d\n", p[PG]);
    } else if (!strcmp(c, "brk")) {
        char *b0 = (char *)syscall(SYS_brk, 0);
        char *b1 = (char *)syscall(SYS_brk, b0 + (sizeof(long) == 8 ? 8 * G : G));
        printf("grew: %d\n", b1 != b0);
        if (b1 != b0) b0[100] = 1;
        char *b2 = (char *)syscall(SYS_brk, b0 + PG);
        printf("back: %d\n", b2 == b0 + PG);
    } else if (!strcmp(c, "sparse")) {
        char name[] = "sparseXXXXXX";
        int fd = mkstemp(name);
        unlink(name);
        if (ftruncate(fd, G)) { perror("ftruncate"); return 1; }
        char *p = mmap(0, G, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        printf("mapped: %d\n", p != MAP_FAILED);
        p[7] = 1;
        T(mprotect(p + G / 2, PG, PROT_READ));
        T(munmap(p + G / 4, PG));
        printf("sum: %d\n", p[7] + p[G - 1]);
    } else if (!strcmp(c, "writev")) {
        char *p = map1g(PROT_READ | PROT_WRITE);
        int fd = open("/dev/null", O_WRONLY);
        struct iovec iov[2] = {{p, G / 2}, {p + G / 2, G / 2}};
        T(writev(fd, iov, 2));
        T(write(fd, p, G));
        int pfd[2];
        pipe(pfd);
        T(fcntl(pfd[1], F_SETFL, O_NONBLOCK));
        T(writev(pfd[1], iov, 2));
    } else if (!strcmp(c, "readv")) {
        char *p = map1g(PROT_READ | PROT_WRITE);
        int fd = open("/dev/zero", O_RDONLY);
        struct iovec iov[2] = {{p, 8192}, {p + G / 2, G / 2}};
        T(readv(fd, iov, 2) > 0);
        int pfd[2];
        pipe(pfd);
        write(pfd[1], "abc", 3);
        T(readv(pfd[0], iov, 2));
        printf("read: %.3s\n", p);
    } else if (!strcmp(c, "sendto")) {
        char *p = map1g(PROT_READ | PROT_WRITE);
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9),
                                .sin_addr.s_addr = htonl(0x7f000001)};
        T(sendto(s, p, G, 0, (struct sockaddr *)&a, sizeof a));
        struct iovec iov = {p, G};
        struct msghdr m = {.msg_name = &a, .msg_namelen = sizeof a, .msg_iov = &iov, .msg_iovlen = 1};
        T(sendmsg(s, &m, 0));
    } else if (!strcmp(c, "mincore")) {
        char *p = mmap(0, G, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        unsigned char *v = malloc(G / PG);
        T(mincore(p, G, v));
        long n = 0;
        for (unsigned long i = 0; i < G / PG; i++) n += v[i];
        T(mprotect(p, 4 * PG, PROT_READ | PROT_WRITE));
        p[PG] = 1;
        T(mincore(p, 4 * PG, v));
        printf("resident: %ld, then %d%d%d%d\n", n, v[0], v[1], v[2], v[3]);
    } else if (!strcmp(c, "readonly")) {
        /* Read-only memory is not charged: its size is the guest's choice. */
        size_t n = sizeof(long) == 8 ? 1UL << 40 : 2 * G;
        char *p = mmap(0, n, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        long s = 0;
        for (size_t i = 0; i < n; i += n / 64) s += p[i];
        int fd = open("/dev/null", O_WRONLY);
        T(write(fd, p + n / 2, 64 << 20));
        T(mprotect(p + PG, 2 * PG, PROT_READ | PROT_WRITE));
        p[PG] = 5;
        printf("sum %ld, written %d\n", s, p[PG]);
        T(munmap(p, n));
    } else if (!strcmp(c, "reserve")) {
        /* Go and the sanitizers reserve address space they never touch. */
        size_t n = sizeof(long) == 8 ? 64 * G : 2 * G;
        char *p = mmap(0, n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        printf("reserved: %d\n", p != MAP_FAILED);
        T(mprotect(p + n / 2, G, PROT_READ | PROT_WRITE));
        p[n / 2] = 1;
        T(munmap(p, n));
    } else {
        printf("unknown case %s\n", c);
        return 2;
    }
    return 0;
}
