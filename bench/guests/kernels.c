/* Small compute kernels for bench/workloads.py: argv[1] names one, argv[2]
 * is the iteration count. Each prints a checksum so that the three runs
 * (native, qemu-user, sysgate) can be checked to agree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long regs(long n) {
    unsigned long x = 1;
    for (long i = 0; i < n; i++)
        x = x * 6364136223846793005UL + (unsigned long)i;
    return (long)(x >> 3);
}

static long loads(long n) {
    static long a[4096];
    for (int i = 0; i < 4096; i++)
        a[i] = i * 7;
    long s = 0;
    for (long i = 0; i < n; i++)
        s += a[(i * 13) & 4095] ^ a[(i * 7) & 4095];
    return s;
}

static long stores(long n) {
    static long a[4096];
    for (long i = 0; i < n; i++) {
        a[(i * 13) & 4095] = i;
        a[(i * 7) & 4095] = i + 1;
    }
    long s = 0;
    for (int i = 0; i < 4096; i++)
        s += a[i];
    return s;
}

static long f0(long x) { return x + 1; }
static long f1(long x) { return x ^ 5; }
static long f2(long x) { return x * 3; }
static long f3(long x) { return x - 7; }

static long calls(long n) {
    long (*volatile fs[4])(long) = {f0, f1, f2, f3};
    long x = 0;
    for (long i = 0; i < n; i++)
        x = fs[i & 3](x);
    return x;
}

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    long n = atol(argv[2]);
    long r;
    if (!strcmp(argv[1], "regs"))
        r = regs(n);
    else if (!strcmp(argv[1], "loads"))
        r = loads(n);
    else if (!strcmp(argv[1], "stores"))
        r = stores(n);
    else if (!strcmp(argv[1], "calls"))
        r = calls(n);
    else
        return 2;
    printf("%ld\n", r);
    return 0;
}
