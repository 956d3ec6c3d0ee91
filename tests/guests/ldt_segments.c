/* modify_ldt and LDT segments used from user code: its answers (read 0,
   write 1 and 0x11, read_default 2, refusals), data segments loaded into
   DS/ES/FS/GS/SS and read through, a far call into an LDT code segment
   (i386), a not-present segment (#NP: SIGBUS), a zero entry (#GP). */
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static int modify_ldt(int func, void *ptr, unsigned long n)
{
    int r = syscall(SYS_modify_ldt, func, ptr, n);   /* an int, as the ABI has it */
    if (r < -1) {
        errno = -r;
        r = -1;
    }
    return r;
}

static sigjmp_buf jb;

static void on_fault(int sig, siginfo_t *si, void *uc_)
{
    ucontext_t *uc = uc_;
#ifdef __x86_64__
    long trapno = uc->uc_mcontext.gregs[REG_TRAPNO], err = uc->uc_mcontext.gregs[REG_ERR];
#else
    long trapno = uc->uc_mcontext.gregs[REG_TRAPNO], err = uc->uc_mcontext.gregs[REG_ERR];
#endif
    printf("  signal %d code %d trapno %ld err %#lx\n", sig, si->si_code, trapno, err);
    siglongjmp(jb, 1);
}

static struct user_desc desc(int entry, unsigned base, unsigned limit, int contents,
                             int seg32, int present)
{
    struct user_desc d;
    memset(&d, 0, sizeof d);
    d.entry_number = entry;
    d.base_addr = base;
    d.limit = limit;
    d.contents = contents;
    d.seg_32bit = seg32;
    d.seg_not_present = !present;
    d.useable = 1;
    return d;
}

static void show(const char *what, int r)
{
    printf("%s: %d", what, r);
    if (r < 0)
        printf(" errno %d", errno);
    printf("\n");
}

#define LOAD_AND_READ(seg, sel, out)                                          \
    asm volatile("mov %%" #seg ", %%cx\n\t"                                   \
                 "mov %w1, %%" #seg "\n\t"                                    \
                 "movl %%" #seg ":4, %0\n\t"                                  \
                 "mov %%cx, %%" #seg                                          \
                 : "=r"(out) : "r"(sel) : "ecx", "memory")

int main(void)
{
    unsigned char buf[256];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, 0);
    sigaction(SIGBUS, &sa, 0);

    show("read with no LDT", modify_ldt(0, buf, sizeof buf));
    memset(buf, 0xAA, sizeof buf);
    show("read_default", modify_ldt(2, buf, sizeof buf));
    printf("  zeroed %d %d\n", buf[0] == 0 && buf[127] == 0, buf[128]);
    struct user_desc d = desc(0, 0, 0, 0, 1, 1);
    show("wrong size", modify_ldt(1, &d, sizeof d - 1));
    show("bad pointer", modify_ldt(1, (void *)8, sizeof d));
    d = desc(8192, 0, 0xfff, 0, 1, 1);
    show("entry 8192", modify_ldt(1, &d, sizeof d));
    d = desc(1, 0, 0xfff, 3, 1, 1);
    show("contents 3 present", modify_ldt(0x11, &d, sizeof d));
    d = desc(1, 0, 0xfff, 3, 1, 0);
    show("contents 3 old mode", modify_ldt(1, &d, sizeof d));
    show("contents 3 not present", modify_ldt(0x11, &d, sizeof d));
    show("func 7", modify_ldt(7, &d, sizeof d));

    /* Data at a low address, as a 32-bit base needs. */
    unsigned *data = mmap((void *)0x50000000, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    data[0] = 0x11111111;
    data[1] = 0x22222222;
    data[2] = 0x33333333;
    d = desc(2, (unsigned long)data + 4, 0xfff, 0, 1, 1);
    show("write data", modify_ldt(0x11, &d, sizeof d));
    d = desc(3, (unsigned long)data, 0xfff, 0, 1, 0);
    show("write not present", modify_ldt(0x11, &d, sizeof d));
    memset(buf, 0xAA, sizeof buf);
    show("read", modify_ldt(0, buf, sizeof buf));
    printf("  entry 2: %02x%02x%02x%02x%02x%02x%02x%02x tail %d\n", buf[16], buf[17], buf[18],
           buf[19], buf[20], buf[21], buf[22], buf[23], buf[255]);
    show("read 10", modify_ldt(0, buf, 10));

    unsigned short sel = (2 << 3) | 7, v;
    unsigned out = 0;
#ifdef __i386__
    LOAD_AND_READ(ds, sel, out);
    printf("ds: %#x\n", out);
    LOAD_AND_READ(es, sel, out);
    printf("es: %#x\n", out);
    LOAD_AND_READ(fs, sel, out);
    printf("fs: %#x\n", out);
#else
    /* Long mode ignores the DS/ES bases; FS holds glibc's TLS. */
    asm volatile("mov %%ds, %%cx; mov %w1, %%ds; mov %%ds, %w0; mov %%cx, %%ds"
                 : "=r"(out) : "r"(sel) : "ecx");
    printf("ds: %#x\n", out);
#endif
    LOAD_AND_READ(gs, sel, out);
    printf("gs: %#x\n", out);
    asm volatile("mov %%ss, %%cx; mov %w1, %%ss; mov %%ss, %w0; mov %%cx, %%ss"
                 : "=r"(out) : "r"(sel) : "ecx");
    printf("ss: %#x\n", out);
    unsigned lim = 0, ok = 0;
    asm("lsl %2, %0; setz %b1" : "=r"(lim), "=q"(ok) : "r"((unsigned)sel));
    printf("lsl: %d %#x\n", ok & 1, lim);
    asm("lar %2, %0; setz %b1" : "=r"(lim), "=q"(ok) : "r"((unsigned)sel));
    printf("lar: %d %#x\n", ok & 1, lim);

    /* A not-present segment is #NP (SIGBUS), an empty entry #GP. */
    if (!sigsetjmp(jb, 1)) {
        sel = (3 << 3) | 7;
        asm volatile("mov %0, %%es" : : "r"(sel));
        printf("loaded a not-present segment\n");
    }
    asm volatile("mov %0, %%es" : : "r"((unsigned short)0x2b));
    if (!sigsetjmp(jb, 1)) {
        sel = (5 << 3) | 7;
        asm volatile("mov %0, %%gs" : : "r"(sel));
        printf("loaded an empty entry\n");
    }
    /* Clearing the entry ES holds: the kernel reloads ES (null now). */
    sel = (2 << 3) | 7;
    d = desc(2, 0, 0, 0, 0, 0);
    d.read_exec_only = 1;
    long r;
    unsigned short user_ds = 0x2b;
    asm volatile("mov %4, %%es\n\t"
#ifdef __x86_64__
                 "syscall\n\t"
#else
                 "int $0x80\n\t"
#endif
                 "mov %%es, %w1\n\t"
                 "mov %5, %%es"
                 : "=a"(r), "=&r"(v)
#ifdef __x86_64__
                 : "a"(SYS_modify_ldt), "D"(0x11), "m"(sel), "m"(user_ds), "S"(&d), "d"(sizeof d)
                 : "rcx", "r11", "memory");
#else
                 : "a"(SYS_modify_ldt), "b"(0x11), "m"(sel), "m"(user_ds), "c"(&d), "d"(sizeof d)
                 : "memory");
#endif
    printf("cleared: %ld es %#x\n", r, v);

#ifdef __i386__
    /* A far call into a 32-bit LDT code segment whose base is the code. */
    unsigned char *code = (unsigned char *)data + 2048;
    memcpy(code, "\xb8\x34\x12\x00\x00\x8c\xca\xcb", 8);  /* mov $0x1234,%eax; mov %cs,%edx; lret */
    d = desc(4, (unsigned long)code, 0xfff, 2, 1, 1);
    show("write code", modify_ldt(0x11, &d, sizeof d));
    struct { unsigned off; unsigned short sel; } __attribute__((packed)) far = { 0, (4 << 3) | 7 };
    unsigned ax, dx;
    asm volatile("lcall *%2" : "=a"(ax), "=d"(dx) : "m"(far) : "memory");
    printf("far call: %#x cs %#x\n", ax, dx & 0xffff);
    /* And a 16-bit one: a 16-bit far return. */
    memcpy(code + 64, "\xb8\x78\x56\x8c\xca\x66\xcb", 7);   /* mov $0x5678,%ax; mov %cs,%dx; lretl */
    d = desc(6, (unsigned long)code + 64, 0xfff, 2, 0, 1);
    show("write code16", modify_ldt(0x11, &d, sizeof d));
    far.sel = (6 << 3) | 7;
    ax = 0;
    asm volatile("lcall *%2" : "=a"(ax), "=d"(dx) : "m"(far), "a"(0) : "memory");
    printf("far call 16: %#x cs %#x\n", ax & 0xffff, dx & 0xffff);
#endif
    return 0;
}
