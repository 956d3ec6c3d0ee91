/* Socket calls with pseudo-random arguments: lengths from a list of
 * hostile ones, pointers into a scratch area, to its edge, to nothing and
 * into an untouched 1 GiB mapping, headers (msghdr, cmsghdr, iovec) filled
 * with the same. Each result is printed (the return value or errno), so the
 * run can be compared with the native one; sysgate must never fail
 * itself. usage: net_fuzz SEED CALLS */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static uint64_t rng;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static char *scratch, *edge, *big;

static unsigned long length(void)
{
    static const unsigned long lens[] = {
        0, 1, 2, 3, 4, 7, 8, 11, 12, 15, 16, 17, 20, 24, 28, 64, 108, 110, 128, 129, 4095,
        4096, 65536, 131072, 200000, 1UL << 20, 1UL << 30, 0x7fffffff, 0x80000000UL,
        0xffffffffUL, (unsigned long)-1, (unsigned long)-16,
    };
    return lens[next() % (sizeof lens / sizeof lens[0])];
}

static void *pointer(void)
{
    switch (next() % 8) {
    case 0:
        return NULL;
    case 1:
        return (void *)16;
    case 2:
        return edge - (next() % 64);
    case 3:
        return big + (next() % 4096);
    default:
        return scratch + (next() % 1024);
    }
}

/* Fill the scratch area with headers that point and claim at random. */
static void garble(void)
{
    unsigned long *w = (unsigned long *)scratch;
    for (int i = 0; i < 4096 / (int)sizeof(long); i++) {
        uint64_t r = next() % 4;
        w[i] = r == 0 ? length() : r == 1 ? (unsigned long)pointer() : r == 2 ? 0 : next();
    }
}

static int fds[5];

static int fd(void)
{
    uint64_t r = next() % 8;
    return r < 4 ? fds[r] : r == 4 ? -1 : r == 5 ? 1000 : fds[4];
}

int main(int argc, char **argv)
{
    rng = (argc > 1 ? strtoull(argv[1], NULL, 0) : 1) * 0x9E3779B97F4A7C15ULL + 1;
    int calls = argc > 2 ? atoi(argv[2]) : 200;
    /* At fixed addresses: the pointers written into headers are then the
     * same natively and under sysgate. */
#ifdef __x86_64__
    char *at_scratch = (char *)0x3000000000, *at_big = (char *)0x4000000000;
#else
    char *at_scratch = (char *)0x30000000, *at_big = (char *)0x40000000;
#endif
    scratch = mmap(at_scratch, 8192, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    munmap(scratch + 4096, 4096);
    edge = scratch + 4096;
    big = mmap(at_big, 1UL << 30, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (scratch == MAP_FAILED || big == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, fds);
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds + 2);
    fds[4] = open("/dev/null", O_RDWR);     /* not a socket */
    static const char *names[] = {"sendmsg", "recvmsg", "sendto", "recvfrom", "setsockopt",
                                  "getsockopt", "getsockname", "bind", "connect", "sendmmsg",
                                  "recvmmsg", "accept4"};
    for (int i = 0; i < calls; i++) {
        garble();
        int which = next() % 12;
        long r;
        int flags = MSG_DONTWAIT | (next() % 4 == 0 ? MSG_CMSG_CLOEXEC : 0);
        switch (which) {
        case 0:
            r = sendmsg(fd(), pointer(), flags);
            break;
        case 1:
            r = recvmsg(fd(), pointer(), flags);
            break;
        case 2:
            r = sendto(fd(), pointer(), length(), flags, pointer(), length());
            break;
        case 3:
            r = recvfrom(fd(), pointer(), length(), flags, pointer(), pointer());
            break;
        case 4:
            r = setsockopt(fd(), next() % 2 ? SOL_SOCKET : (int)(next() % 300),
                           (int)(next() % 80), pointer(), length());
            break;
        case 5:
            r = getsockopt(fd(), next() % 2 ? SOL_SOCKET : (int)(next() % 300),
                           (int)(next() % 80), pointer(), pointer());
            break;
        case 6:
            r = getsockname(fd(), pointer(), pointer());
            break;
        case 7:
            r = bind(fd(), pointer(), length());
            break;
        case 8:
            r = connect(fd(), pointer(), length());
            break;
        case 9:
            r = sendmmsg(fd(), pointer(), length(), flags);
            break;
        case 10:
            /* More than UIO_MAXIOV at once: sysgate stops at 1024 (Linux
             * receives on, stopping only at an error). */
            r = recvmmsg(fd(), pointer(), length() % 1025, flags, NULL);
            break;
        default:
            r = accept4(fd(), pointer(), pointer(), SOCK_NONBLOCK);
            break;
        }
        if (r < 0)
            printf("%4d %-12s -1 %s\n", i, names[which], strerror(errno));
        else
            printf("%4d %-12s ok\n", i, names[which]);
        /* Close what a receive installed, so descriptors number alike. */
        for (int f = 6; f < 64; f++)
            close(f);
    }
    return 0;
}
