/* The system-call gates of 32-bit code, register by register.
 *
 * argv[1] picks the gate:
 *   int80          INT $0x80 executed directly: every register but EAX kept.
 *   vsys-int80     Linux's __kernel_vsyscall sequences: push ecx; push edx;
 *   vsys-syscall   push ebp; then "int $0x80", "mov ecx,ebp; syscall" (AMD)
 *   vsys-sysenter  or "mov esp,ebp; sysenter" (Intel); then pop ebp, edx,
 *                  ecx; ret. The kernel reads the sixth argument from the
 *                  pushed EBP at [esp] and returns from the fast gates to the
 *                  vDSO's int80_landing_pad, which is the same pops and ret,
 *                  so the stub behaves the same whichever return it gets.
 * The printed lines do not name the gate: every gate must give the same
 * output, which lets a gate with no native oracle here (SYSENTER, #UD on
 * this AMD host) be checked against one that has.
 *
 * efault-syscall, efault-sysenter: a fast gate whose stack pointer (ESP for
 * SYSCALL, EBP for SYSENTER) points at unmapped memory, so the kernel cannot
 * fetch the sixth argument: Linux answers -EFAULT through IRET, to the vDSO
 * landing pad. Only meaningful without a vDSO (the return then comes back
 * here, where ESP is put back); natively the landing pad's pops fault. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { EAX, EBX, ECX, EDX, ESI, EDI, EBP, FLAGS, NREGS };
static const char *names[NREGS] = {"eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "eflags"};

struct call {
    uint32_t in[NREGS];      /* offset 0 */
    uint32_t out[NREGS];     /* offset 32 */
    uint32_t flags_before;   /* offset 64 */
    uint32_t esp_before;     /* offset 68 */
    uint32_t esp_after;      /* offset 72 */
};

void (*gate_target)(void);

/* gate_call(c, stub): load every register and EFLAGS from c->in, call the
 * stub, store every register, EFLAGS and ESP into c->out. */
__asm__(
    ".text\n"
    ".globl gate_call\ngate_call:\n"
    "push %ebp\npush %ebx\npush %esi\npush %edi\n"
    "mov 20(%esp), %eax\nmov 24(%esp), %edx\nmov %edx, gate_target\n"
    "push %eax\n"
    "pushl 28(%eax)\npopfl\n"
    "pushfl\npopl 64(%eax)\n"
    "mov %esp, 68(%eax)\n"
    "mov 4(%eax), %ebx\nmov 8(%eax), %ecx\nmov 12(%eax), %edx\n"
    "mov 16(%eax), %esi\nmov 20(%eax), %edi\nmov 24(%eax), %ebp\n"
    "mov 0(%eax), %eax\n"
    "call *gate_target\n"
    "pushfl\npush %eax\nmov 8(%esp), %eax\n"
    "popl 32(%eax)\npopl 60(%eax)\n"
    "mov %esp, 72(%eax)\n"
    "mov %ebx, 36(%eax)\nmov %ecx, 40(%eax)\nmov %edx, 44(%eax)\n"
    "mov %esi, 48(%eax)\nmov %edi, 52(%eax)\nmov %ebp, 56(%eax)\n"
    "cld\n"
    "pop %eax\npop %edi\npop %esi\npop %ebx\npop %ebp\n"
    "ret\n"

    ".globl stub_int80\nstub_int80:\n"
    "int $0x80\nret\n"

    ".globl stub_vsys_int80\nstub_vsys_int80:\n"
    "push %ecx\npush %edx\npush %ebp\n"
    "int $0x80\n"
    "pop %ebp\npop %edx\npop %ecx\nret\n"

    ".globl stub_vsys_syscall\nstub_vsys_syscall:\n"
    "push %ecx\npush %edx\npush %ebp\n"
    "mov %ecx, %ebp\nsyscall\n"
    "pop %ebp\npop %edx\npop %ecx\nret\n"

    ".globl stub_vsys_sysenter\nstub_vsys_sysenter:\n"
    "push %ecx\npush %edx\npush %ebp\n"
    "mov %esp, %ebp\nsysenter\n"
    "pop %ebp\npop %edx\npop %ecx\nret\n");

uint32_t saved_esp;
__asm__(
    ".globl efault_syscall\nefault_syscall:\n"
    "push %ebp\npush %ebx\n"
    "mov %esp, saved_esp\n"
    "mov $20, %eax\nmov $0x10, %esp\n"
    "syscall\n"
    "mov saved_esp, %esp\n"
    "pop %ebx\npop %ebp\nret\n"
    ".globl efault_sysenter\nefault_sysenter:\n"
    "push %ebp\npush %ebx\n"
    "mov %esp, saved_esp\n"
    "mov $20, %eax\nmov $0x10, %ebp\n"
    "sysenter\n"
    "mov saved_esp, %esp\n"
    "pop %ebx\npop %ebp\nret\n");
int32_t efault_syscall(void), efault_sysenter(void);

void gate_call(struct call *c, void (*stub)(void));
void stub_int80(void), stub_vsys_int80(void), stub_vsys_syscall(void), stub_vsys_sysenter(void);

/* CF PF ZF SF DF OF, IF and the fixed bit. */
#define TEST_FLAGS 0xED7u

static void (*stub)(void);
static long pid;
static char msg[] = "written through a 32-bit gate\n";

static void fill(struct call *c, uint32_t nr) {
    memset(c, 0, sizeof *c);
    for (int i = 0; i < NREGS; i++)
        c->in[i] = 0x11111111u * (uint32_t)(i + 1) ^ 0x89abcdefu;
    c->in[EAX] = nr;
    c->in[FLAGS] = TEST_FLAGS;
}

static void run(const char *what, struct call *c) {
    fflush(stdout);
    gate_call(c, stub);
    int32_t eax = (int32_t)c->out[EAX];
    printf("%s: eax=", what);
    if (eax == pid)
        printf("pid");
    else
        printf("%d", eax);
    for (int i = 1; i < NREGS; i++) {
        uint32_t v = c->out[i];
        if (i == FLAGS)
            printf(" %s=%s", names[i], v == c->flags_before ? "as-before" : "changed");
        else if (v == c->in[i])
            printf(" %s=kept", names[i]);
        else
            printf(" %s=%#x", names[i], v);
    }
    printf(" esp=%s\n", c->esp_after == c->esp_before ? "kept" : "changed");
    fflush(stdout);
}

int main(int argc, char **argv) {
    const char *gate = argc > 1 ? argv[1] : "int80";
    if (!strcmp(gate, "efault-syscall") || !strcmp(gate, "efault-sysenter")) {
        int32_t r = !strcmp(gate, "efault-syscall") ? efault_syscall() : efault_sysenter();
        printf("%s: eax=%d\n", gate, r);
        return 0;
    }
    if (!strcmp(gate, "int80"))
        stub = stub_int80;
    else if (!strcmp(gate, "vsys-int80"))
        stub = stub_vsys_int80;
    else if (!strcmp(gate, "vsys-syscall"))
        stub = stub_vsys_syscall;
    else if (!strcmp(gate, "vsys-sysenter"))
        stub = stub_vsys_sysenter;
    else
        return 2;
    pid = getpid();
    struct call c;

    fill(&c, 20);                       /* getpid */
    run("getpid", &c);

    fill(&c, 4);                        /* write(1, msg, len) */
    c.in[EBX] = 1;
    c.in[ECX] = (uint32_t)msg;
    c.in[EDX] = strlen(msg);
    run("write", &c);

    fill(&c, 4);                        /* write(-1): -EBADF */
    c.in[EBX] = (uint32_t)-1;
    c.in[ECX] = (uint32_t)msg;
    c.in[EDX] = 4;
    run("write-ebadf", &c);

    fill(&c, 1000);                     /* unknown numbers: -ENOSYS */
    run("nr-1000", &c);
    fill(&c, 0xffffffffu);
    run("nr-0xffffffff", &c);
    fill(&c, 0x80000014u);
    run("nr-0x80000014", &c);

    /* Six arguments: mmap2(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 1) of
     * this program; the page offset is the sixth argument, which the fast
     * gates take from the stack. */
    int fd = open("/proc/self/exe", O_RDONLY);
    if (fd < 0)
        fd = open(argv[0], O_RDONLY);
    unsigned char expect[16];
    pread(fd, expect, sizeof expect, 4096);
    fill(&c, 192);
    c.in[EBX] = 0;
    c.in[ECX] = 4096;
    c.in[EDX] = PROT_READ;
    c.in[ESI] = MAP_PRIVATE;
    c.in[EDI] = fd;
    c.in[EBP] = 1;
    gate_call(&c, stub);
    uint32_t addr = c.out[EAX];
    printf("mmap2: %s", addr < 0xfffff000u && !memcmp((void *)addr, expect, sizeof expect)
                            ? "page 1 mapped" : "wrong");
    printf(" ebx=%s esi=%s edi=%s ebp=%s\n", c.out[EBX] == c.in[EBX] ? "kept" : "changed",
           c.out[ESI] == c.in[ESI] ? "kept" : "changed",
           c.out[EDI] == c.in[EDI] ? "kept" : "changed",
           c.out[EBP] == c.in[EBP] ? "kept" : "changed");
    return 0;
}
