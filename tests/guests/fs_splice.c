/* splice, tee, vmsplice, copy_file_range, close_range and prctl as real
 * programs use them (cat, cp and git; python's subprocess; ls and busybox),
 * with their errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_copy_file_range
#ifdef __x86_64__
#define SYS_copy_file_range 326
#else
#define SYS_copy_file_range 377
#endif
#endif

static void show(const char *what, long r) {
    if (r < 0)
        printf("%s = -1 errno %d\n", what, errno);
    else
        printf("%s = %ld\n", what, r);
}

int main(void) {
    char path[] = "/tmp/sysgate-splice-XXXXXX";
    int f = mkstemp(path);
    unlink(path);
    const char *msg = "the quick brown fox jumps over the lazy dog\n";
    write(f, msg, strlen(msg));

    int p[2];
    pipe(p);
    loff_t off = 4;
    show("splice(file@4 -> pipe, 11)", splice(f, &off, p[1], NULL, 11, 0));
    printf("  off now %lld\n", (long long)off);
    char buf[128] = {0};
    show("read(pipe)", read(p[0], buf, sizeof buf - 1));
    printf("  got '%s'\n", buf);
    show("splice(pipe with offset)", splice(f, NULL, p[1], &off, 4, 0));
    show("splice(file -> file)", splice(f, NULL, f, NULL, 4, 0));
    show("splice(bad flags)", splice(f, &off, p[1], NULL, 4, 0x100));
    show("splice(bad fd)", splice(99, NULL, p[1], NULL, 4, 0));
    show("splice(bad offset ptr)", splice(f, (void *)8, p[1], NULL, 4, 0));
    off = -1;
    show("splice(negative offset)", splice(f, &off, p[1], NULL, 4, 0));
    show("splice(len 0)", splice(f, NULL, p[1], NULL, 0, 0));

    /* empty pipe, non-blocking: EAGAIN; with the writer closed: 0 */
    int q[2];
    pipe(q);
    show("splice(empty pipe, NONBLOCK)", splice(q[0], NULL, f, NULL, 8, SPLICE_F_NONBLOCK));
    write(q[1], "spliced back\n", 13);
    off = 0;
    show("splice(pipe -> file@64)", splice(q[0], NULL, f, &off, 64, 0));
    printf("  off now %lld\n", (long long)off);
    close(q[1]);
    show("splice(pipe at EOF)", splice(q[0], NULL, f, NULL, 8, 0));
    close(q[0]);

    /* tee: duplicates, does not consume */
    int r[2];
    pipe(r);
    write(p[1], "tee me\n", 7);
    show("tee(p -> r)", tee(p[0], r[1], 100, 0));
    memset(buf, 0, sizeof buf);
    show("read(r)", read(r[0], buf, sizeof buf - 1));
    printf("  r '%s'", buf);
    memset(buf, 0, sizeof buf);
    show("read(p) still there", read(p[0], buf, sizeof buf - 1));
    show("tee(file)", tee(f, r[1], 10, 0));
    show("tee(empty, NONBLOCK)", tee(p[0], r[1], 10, SPLICE_F_NONBLOCK));

    /* vmsplice: user pages into the pipe, and back out of it */
    struct iovec iv[2] = {{"vm", 2}, {"splice\n", 7}};
    show("vmsplice(write end)", vmsplice(p[1], iv, 2, 0));
    char a[4] = {0}, b[8] = {0};
    struct iovec ov[2] = {{a, 3}, {b, 6}};
    show("vmsplice(read end)", vmsplice(p[0], ov, 2, 0));
    printf("  '%s' '%s'\n", a, b);
    show("vmsplice(file)", vmsplice(f, iv, 2, 0));
    show("vmsplice(too many segs)", vmsplice(p[1], iv, 2000, 0));
    show("vmsplice(bad iov)", vmsplice(p[1], (void *)8, 1, 0));

    /* copy_file_range */
    char path2[] = "/tmp/sysgate-cfr-XXXXXX";
    int g = mkstemp(path2);
    unlink(path2);
    loff_t oi = 10, oo = 0;
    show("copy_file_range(@10 -> @0, 9)", syscall(SYS_copy_file_range, f, &oi, g, &oo, 9, 0));
    printf("  offsets %lld %lld\n", (long long)oi, (long long)oo);
    memset(buf, 0, sizeof buf);
    pread(g, buf, 20, 0);
    printf("  copied '%s'\n", buf);
    show("copy_file_range(flags 1)", syscall(SYS_copy_file_range, f, &oi, g, &oo, 9, 1));
    show("copy_file_range(pipe)", syscall(SYS_copy_file_range, p[0], NULL, g, NULL, 9, 0));
    show("copy_file_range(bad ptr)", syscall(SYS_copy_file_range, f, (void *)8, g, NULL, 9, 0));
    lseek(f, 0, SEEK_SET);
    show("copy_file_range(file offsets)", syscall(SYS_copy_file_range, f, NULL, g, NULL, 5, 0));
    printf("  file positions %ld %ld\n", (long)lseek(f, 0, SEEK_CUR), (long)lseek(g, 0, SEEK_CUR));

    /* close_range */
    int d1 = dup2(f, 40), d2 = dup2(f, 41), d3 = dup2(f, 45);
    (void)d1; (void)d2; (void)d3;
    show("close_range(40, 41, 0)", syscall(SYS_close_range, 40, 41, 0));
    show("fcntl(40) after", fcntl(40, F_GETFD));
    show("fcntl(45) kept", fcntl(45, F_GETFD));
    show("close_range(45, ~0, CLOEXEC)", syscall(SYS_close_range, 45, ~0U, 4));
    show("fcntl(45) cloexec", fcntl(45, F_GETFD));
    show("close_range(5, 4)", syscall(SYS_close_range, 5, 4, 0));
    show("close_range(bad flags)", syscall(SYS_close_range, 40, 50, 1));
    show("close_range(1000, 2000)", syscall(SYS_close_range, 1000, 2000, 0));

    /* prctl */
    char name[32] = {0};
    show("PR_SET_NAME", prctl(PR_SET_NAME, "a-very-long-thread-name", 0, 0, 0));
    show("PR_GET_NAME", prctl(PR_GET_NAME, name, 0, 0, 0));
    printf("  name '%s'\n", name);
    show("PR_SET_NAME(bad ptr)", prctl(PR_SET_NAME, (void *)8, 0, 0, 0));
    show("PR_GET_DUMPABLE", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    show("PR_SET_DUMPABLE(0)", prctl(PR_SET_DUMPABLE, 0, 0, 0, 0));
    show("PR_GET_DUMPABLE", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    show("PR_SET_DUMPABLE(5)", prctl(PR_SET_DUMPABLE, 5, 0, 0, 0));
    show("PR_GET_NO_NEW_PRIVS", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    show("PR_SET_NO_NEW_PRIVS", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    show("PR_GET_NO_NEW_PRIVS", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    int sig = -1;
    show("PR_SET_PDEATHSIG", prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0));
    show("PR_GET_PDEATHSIG", prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0));
    printf("  pdeathsig %d\n", sig);
    show("PR_GET_PDEATHSIG(bad ptr)", prctl(PR_GET_PDEATHSIG, (void *)8, 0, 0, 0));
    show("PR_SET_PDEATHSIG(99)", prctl(PR_SET_PDEATHSIG, 99, 0, 0, 0));
    show("PR_GET_SECCOMP", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
    show("PR_SET_CHILD_SUBREAPER", prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
    sig = -1;
    show("PR_GET_CHILD_SUBREAPER", prctl(PR_GET_CHILD_SUBREAPER, &sig, 0, 0, 0));
    printf("  subreaper %d\n", sig);
    show("PR_GET_THP_DISABLE", prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
    show("unknown option", prctl(12345, 0, 0, 0, 0));
    return 0;
}
