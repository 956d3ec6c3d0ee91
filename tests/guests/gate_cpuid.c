/* What CPUID tells a program about the system-call gates:
 *   leaf 0            the vendor string (GenuineIntel, AuthenticAMD)
 *   leaf 1 EDX.11     SEP: SYSENTER/SYSEXIT exist
 *   80000001 EDX.11   SYSCALL/SYSRET exist; Intel reports it only to 64-bit
 *                     code, since SYSCALL is #UD in its compat mode
 *   80000001 EDX.29   LM: long mode
 * and whether AT_HWCAP (leaf 1 EDX, as Linux passes it) agrees on SEP.
 * Then the GDT as user code can probe it with LSL: Linux's flat user
 * segments, the per-CPU segment 0x7b (whose limit, the CPU number, is not
 * printed), and selectors it does not give user code (the TSS at 0x40,
 * the empty slot at 0x38, past the end at 0x80). */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* AT_HWCAP as the kernel passed it: glibc's getauxval(AT_HWCAP) on x86
 * answers with its own bits, so read /proc/self/auxv. */
static long raw_hwcap(void) {
    unsigned long a[2 * 64];
    int fd = open("/proc/self/auxv", O_RDONLY);
    if (fd < 0)
        return -1;
    long n = read(fd, a, sizeof a);
    close(fd);
    for (long i = 0; i + 1 < n / (long)sizeof a[0]; i += 2)
        if (a[i] == AT_HWCAP)
            return (long)a[i + 1];
    return -1;
}

static void cpuid(unsigned leaf, unsigned r[4]) {
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                     : "a"(leaf), "c"(0));
}

static int lsl(unsigned sel, unsigned *limit) {
    unsigned lim = 0;
    unsigned char ok;
    __asm__ volatile("lsl %2, %0\n\tsetz %1" : "+r"(lim), "=q"(ok) : "r"(sel) : "cc");
    *limit = lim;
    return ok;
}

static void segments(void) {
    static const unsigned sels[] = {0x23, 0x2b, 0x33, 0x3b, 0x43, 0x7b, 0x83};
    for (unsigned i = 0; i < sizeof sels / sizeof sels[0]; i++) {
        unsigned limit;
        int ok = lsl(sels[i], &limit);
        if (!ok)
            printf("lsl %#x: refused\n", sels[i]);
        else if (sels[i] == 0x7b)
            printf("lsl %#x: ok\n", sels[i]);
        else
            printf("lsl %#x: limit %#x\n", sels[i], limit);
    }
    /* The per-CPU segment can be loaded, as the vDSO's getcpu once did. */
    unsigned short es, out;
    __asm__ volatile("mov %%es, %0\n\tmov %2, %%es\n\tmov %%es, %1\n\tmov %0, %%es"
                     : "=&r"(es), "=&r"(out) : "r"(0x7b));
    printf("es loaded with %#x\n", out);
}

int main(void) {
    unsigned r[4];
    char vendor[13];
    cpuid(0, r);
    memcpy(vendor, &r[1], 4);
    memcpy(vendor + 4, &r[3], 4);
    memcpy(vendor + 8, &r[2], 4);
    vendor[12] = 0;
    printf("vendor %s\n", vendor);
    cpuid(1, r);
    unsigned sep = (r[3] >> 11) & 1;
    printf("sep %u\n", sep);
    long hwcap = raw_hwcap();
    printf("hwcap sep %s\n", hwcap < 0 ? "unknown" : ((hwcap >> 11) & 1) == sep ? "agrees" : "differs");
    cpuid(0x80000000u, r);
    if (r[0] >= 0x80000001u) {
        cpuid(0x80000001u, r);
        printf("syscall %u\n", (r[3] >> 11) & 1);
        printf("lm %u\n", (r[3] >> 29) & 1);
    }
    printf("%d-bit code\n", (int)sizeof(void *) * 8);
    segments();
    return 0;
}
