/* An image whose bss is 8 GiB: natively instant (nothing is touched); under
   sysgate it must cost as little, and be refused above --memory-limit.
   Built with -nostdlib -mcmodel=medium (libc cannot link past 2 GiB). */
#ifndef N
#define N (8UL << 30)
#endif
char big[N];
static long sys(long n, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}
void _start(void) {
    char *volatile p = big;
    p[N - 1] = 1;
    p[0] = 2;
    sys(1, 1, (long)(p[0] + p[N - 1] == 3 ? "bss ok\n" : "bss bad\n"), 7);
    sys(60, 0, 0, 0);
}
