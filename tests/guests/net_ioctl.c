/* Socket ioctls with pseudo-random requests and structures: the interface
 * calls (struct ifreq, SIOCGIFCONF), routes, ARP, the int ones, and the
 * socket range's unknown numbers, on a UDP and a Unix socket, with the
 * argument in a scratch page, at its edge or at nothing. Each result is
 * printed, for comparison with the native run. Requests whose structures
 * hold pointers, which sysgate does not pass to the host, are left out
 * (ethtool, SIOCWANDEV, the bridge calls, SIOCRTMSG).
 * usage: net_ioctl SEED */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
static uint64_t rng;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }
int main(int argc, char **argv) {
    rng = atoi(argv[1]) * 0x9E3779B97F4A7C15ULL + 1;
#ifdef __x86_64__
    char *sc = mmap((void *)0x3000000000, 8192, 3, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0);
#else
    char *sc = mmap((void *)0x30000000, 8192, 3, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0);
#endif
    munmap(sc + 4096, 4096);
    int s = socket(AF_INET, SOCK_DGRAM, 0), u[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, u);
    for (int i = 0; i < 400; i++) {
        for (int k = 0; k < 4096; k++) sc[k] = next() % 4 == 0 ? next() : 0;
        if (next() % 2) strcpy(sc + (next() % 4096 & ~63), "lo");
        unsigned long cmd = 0x8900 + next() % 0x80;
        if (cmd == 0x8940 || cmd == 0x8941 || cmd == 0x8946 || cmd == 0x894a || cmd == 0x890d)
            cmd = 0x8913;
        if (next() % 8 == 0) cmd = (unsigned long[]){0x5411, 0x541b, 0x8902, 0x8904, 0x8905}[next() % 5];
        void *p = next() % 6 == 0 ? (void *)16 : next() % 5 == 0 ? sc + 4096 - (next() % 40) : sc + (next() % 4096 & ~63);
        int fd = next() % 3 == 0 ? u[0] : s;
        long r = ioctl(fd, cmd, p);
        printf("%3d %#lx %s\n", i, cmd, r < 0 ? strerror(errno) : "ok");
    }
    return 0;
}
