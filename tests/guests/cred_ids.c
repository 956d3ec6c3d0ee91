/* Credentials: the set*id family with Linux's permission rules, and
 * capget/capset. Run as root (the test suite's case) it drops privileges
 * step by step and checks what each identity may still do; run as anyone
 * else it shows the refusals. Only facts that do not depend on the host
 * are printed (which calls succeed, errnos, ids relative to the start). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* linux/capability.h, which musl's headers do not carry */
struct __user_cap_header_struct { unsigned version; int pid; };
struct __user_cap_data_struct { unsigned effective, permitted, inheritable; };
#define _LINUX_CAPABILITY_VERSION_3 0x20080522
#define CAP_DAC_OVERRIDE 1
#define CAP_KILL 5
#define CAP_SETUID 7

static void show(const char *what, long r) {
    if (r < 0)
        printf("%s = -1 errno %d\n", what, errno);
    else
        printf("%s = %ld\n", what, r);
}

static void ids(void) {
    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    printf("  uid %u/%u/%u gid %u/%u/%u groups %d\n", r, e, s, gr, ge, gs, getgroups(0, 0));
}

static int has_cap(int cap) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d))
        return -1;
    return (d[cap / 32].effective >> (cap % 32)) & 1;
}

int main(int argc, char **argv) {
    const char *secret = argc > 1 ? argv[1] : "/nonexistent";
    int root = geteuid() == 0;
    printf("root %d\n", root);

    /* capget: the version probe, a bad version, a bad pointer */
    struct __user_cap_header_struct h = {0x12345678, 0};
    show("capget(bad version, NULL)", syscall(SYS_capget, &h, NULL));
    printf("  version written back %#x\n", h.version);
    h.version = 0x12345678;
    struct __user_cap_data_struct d[2];
    show("capget(bad version, data)", syscall(SYS_capget, &h, d));
    h.version = _LINUX_CAPABILITY_VERSION_3;
    h.pid = -5;
    show("capget(pid -5)", syscall(SYS_capget, &h, d));
    h.pid = 0;
    show("capget(bad data ptr)", syscall(SYS_capget, &h, (void *)8));
    show("capget(bad header)", syscall(SYS_capget, (void *)8, d));
    printf("  CAP_SETUID %d CAP_DAC_OVERRIDE %d CAP_KILL %d\n", has_cap(CAP_SETUID),
           has_cap(CAP_DAC_OVERRIDE), has_cap(CAP_KILL));

    if (root) {
        show("setgroups(1, {4242})", setgroups(1, (gid_t[]){4242}));
        ids();
        show("setresgid(2000, 2000, 2000)", setresgid(2000, 2000, 2000));
        show("setresuid(1000, 1000, 0)", setresuid(1000, 1000, 0));
        ids();
        printf("  CAP_SETUID %d CAP_DAC_OVERRIDE %d\n", has_cap(CAP_SETUID),
               has_cap(CAP_DAC_OVERRIDE));
        show("open(secret)", open(secret, O_RDONLY));
        show("setfsuid(0) (previous)", setfsuid(0));
        show("setfsuid(-1) (previous)", setfsuid(-1));
        show("seteuid(0)", seteuid(0));
        ids();
        show("open(secret) as root again", open(secret, O_RDONLY) >= 0 ? 0 : -1);
        show("setreuid(-1, 1000)", setreuid(-1, 1000));
        show("setresuid(1000, 1000, 1000)", setresuid(1000, 1000, 1000));
        ids();
        show("setuid(0) after dropping all", setuid(0));
        show("seteuid(0)", seteuid(0));
        show("setresuid(-1, -1, 0)", setresuid(-1, -1, 0));
        show("setgid(0)", setgid(0));
        show("setgroups(0, NULL)", setgroups(0, NULL));
        show("capset(raise CAP_SETUID)", ({
            struct __user_cap_header_struct hh = {_LINUX_CAPABILITY_VERSION_3, 0};
            struct __user_cap_data_struct dd[2] = {{1u << CAP_SETUID, 1u << CAP_SETUID, 0}, {0}};
            syscall(SYS_capset, &hh, dd);
        }));
        show("open(secret) as 1000", open(secret, O_RDONLY));
        printf("  CAP_SETUID %d\n", has_cap(CAP_SETUID));
    } else {
        show("setuid(0)", setuid(0));
        show("setresuid(0, 0, 0)", setresuid(0, 0, 0));
        show("setgroups(0, NULL)", setgroups(0, NULL));
        show("setuid(getuid())", setuid(getuid()));
    }
#ifdef __i386__
    /* the old 16-bit calls: (u16)-1 is "unchanged" */
    show("setuid16(0xffff)", syscall(23, 0xffff));
    show("setreuid16(0xffff, 0xffff)", syscall(70, 0xffff, 0xffff));
#endif
    show("capset(pid 1)", ({
        struct __user_cap_header_struct hh = {_LINUX_CAPABILITY_VERSION_3, 1};
        struct __user_cap_data_struct dd[2] = {{0}, {0}};
        syscall(SYS_capset, &hh, dd);
    }));
    return 0;
}
