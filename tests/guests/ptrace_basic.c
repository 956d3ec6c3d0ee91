/* ptrace between two guest processes: stops, statuses, options, register
 * and memory requests, skipping and rewriting calls, signal injection, fork
 * and exit events, and the errno of garbage. Prints nothing that differs
 * between runs (no pids, no addresses). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define REQ(r) ((int)(r))
#define P(req, pid, a, d) ptrace((int)(req), (pid), (void *)(uintptr_t)(a), (void *)(uintptr_t)(d))
#define O_SYSGOOD 1
#define O_FORK 2
#define O_EXIT 0x40
#define GET_SYSCALL_INFO 0x420e
#define GETREGSET 0x4204
#define EVENT_FORK 1
#define EVENT_EXIT 6

#ifdef __x86_64__
#define ORIG(r) ((long)(r).orig_rax)
#define AX(r) ((long)(r).rax)
#define SETAX(r, v) ((r).rax = (v))
#define SETORIG(r, v) ((r).orig_rax = (v))
#define ARG2(r) ((r).rdx)
#define ORIG_OFF (15 * 8)
#else
#define ORIG(r) ((long)(r).orig_eax)
#define AX(r) ((long)(r).eax)
#define SETAX(r, v) ((r).eax = (v))
#define SETORIG(r, v) ((r).orig_eax = (v))
#define ARG2(r) ((r).edx)
#define ORIG_OFF (11 * 4)
#endif

struct sc_info {
    uint8_t op, pad[3];
    uint32_t arch;
    uint64_t ip, sp;
    union {
        struct { uint64_t nr, args[6]; } entry;
        struct { int64_t rval; uint8_t is_error; } exit;
    };
};

static volatile long shared_var = 1234;
static volatile int got_sig;

static void on_sig(int s) { got_sig = s; }

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s: -1 %s\n", what, strerror(errno));
    else
        printf("%s: %ld\n", what, r);
}

static int wait_stop(pid_t pid, const char *what)
{
    int st = 0;
    pid_t w = waitpid(pid, &st, __WALL);
    if (w != pid) {
        printf("%s: waitpid %s\n", what, w < 0 ? strerror(errno) : "other pid");
        return -1;
    }
    if (WIFSTOPPED(st))
        printf("%s: stopped sig %d event %d (%#x)\n", what, WSTOPSIG(st), st >> 16, st & 0xffff);
    else if (WIFEXITED(st))
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed by %d\n", what, WTERMSIG(st));
    return st;
}

static void child_main(void)
{
    show("child traceme", P(PTRACE_TRACEME, 0, 0, 0));
    errno = 0;
    show("child traceme again", P(PTRACE_TRACEME, 0, 0, 0));
    kill(getpid(), SIGSTOP);
    /* the tracer skips this one and makes it return 42 */
    long r = syscall(SYS_getpid);
    printf("child: skipped getpid returned %ld\n", r);
    /* the tracer cuts the count to 2 */
    r = write(1, "AAAA\n", 5);
    printf("\nchild: write returned %ld\n", r);
    /* the tracer rewrites the result */
    r = syscall(SYS_getuid);
    printf("child: getuid returned %ld\n", r);
    printf("child: shared_var %ld\n", shared_var);
    signal(SIGUSR1, on_sig);
    signal(SIGUSR2, on_sig);
    kill(getpid(), SIGUSR1);     /* the tracer turns it into SIGUSR2 */
    printf("child: handler saw %s\n", got_sig == SIGUSR2 ? "SIGUSR2" : got_sig == SIGUSR1 ? "SIGUSR1" : "none");
    kill(getpid(), SIGTERM);     /* the tracer suppresses it */
    printf("child: survived SIGTERM\n");
    fflush(stdout);
    pid_t g = fork();
    if (g == 0) {
        printf("grandchild runs\n");
        fflush(stdout);
        _exit(5);
    }
    int st;
    waitpid(g, &st, 0);
    printf("child: grandchild exited %d\n", WEXITSTATUS(st));
    fflush(stdout);
    _exit(3);
}

/* Run the tracee to its next syscall stop. */
static int next_syscall(pid_t c, const char *what)
{
    P(PTRACE_SYSCALL, c, 0, 0);
    return wait_stop(c, what);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    errno = 0;
    show("cont of self", P(PTRACE_CONT, getpid(), 0, 0));
    show("peek of no process", P(PTRACE_PEEKDATA, 0x7ffffff0, 0, 0));
    show("attach to self", P(PTRACE_ATTACH, getpid(), 0, 0));
    show("attach to no process", P(PTRACE_ATTACH, 0x7ffffff0, 0, 0));
    show("bad request, no process", P(0x7777, 0x7ffffff0, 0, 0));

    pid_t c = fork();
    if (c == 0)
        child_main();
    int st = wait_stop(c, "first stop");
    siginfo_t si;
    memset(&si, 0, sizeof si);
    show("getsiginfo", P(PTRACE_GETSIGINFO, c, 0, &si));
    printf("siginfo signo %d code %d from child %d\n", si.si_signo, si.si_code, si.si_pid == c);
    show("bad request", P(0x7777, c, 0, 0));
    show("bad options", P(PTRACE_SETOPTIONS, c, 0, 0x40000000));
    show("setoptions", P(PTRACE_SETOPTIONS, c, 0, O_SYSGOOD | O_FORK | O_EXIT));
    errno = 0;
    long v = P(PTRACE_PEEKDATA, c, &shared_var, 0);
    printf("peekdata: %ld errno %d\n", v, errno);
    errno = 0;
    v = P(PTRACE_PEEKDATA, c, 0, 0);
    printf("peekdata at 0: %ld %s\n", v, strerror(errno));
    show("pokedata at 0", P(PTRACE_POKEDATA, c, 0, 1));
    show("pokedata", P(PTRACE_POKEDATA, c, &shared_var, 5678));
    errno = 0;
    P(PTRACE_PEEKUSER, c, 3, 0);
    printf("peekuser misaligned: %s\n", strerror(errno));
    errno = 0;
    P(PTRACE_PEEKUSER, c, 1 << 20, 0);
    printf("peekuser past struct user: %s\n", strerror(errno));
    errno = 0;
    v = P(PTRACE_PEEKUSER, c, ORIG_OFF, 0);
    printf("peekuser orig_ax at a signal stop: %ld\n", v);
    show("cont with a bad signal", P(PTRACE_CONT, c, 0, 1000));
    show("getregs to a bad address", P(PTRACE_GETREGS, c, 0, 8));
    struct sc_info info;
    long n = P(GET_SYSCALL_INFO, c, sizeof info, &info);
    printf("syscall info at a signal stop: size %ld op %d\n", n, info.op);
    {
        long buf = 0;
        struct iovec local = {&buf, sizeof buf}, remote = {(void *)&shared_var, sizeof buf};
        long r = process_vm_readv(c, &local, 1, &remote, 1, 0);
        printf("process_vm_readv: %ld value %ld\n", r, buf);
        remote.iov_base = 0;
        r = process_vm_readv(c, &local, 1, &remote, 1, 0);
        printf("process_vm_readv of 0: %ld %s\n", r, strerror(errno));
        remote.iov_base = (void *)&shared_var;
        r = process_vm_readv(c, &local, 1, &remote, 1, 1);
        printf("process_vm_readv with flags: %ld %s\n", r, strerror(errno));
        r = process_vm_readv(c, &local, 1025, &remote, 1, 0);
        printf("process_vm_readv of 1025 iovecs: %ld %s\n", r, strerror(errno));
        r = process_vm_readv(0x7ffffff0, &local, 0, &remote, 1, 0);
        printf("process_vm_readv of nothing from no process: %ld\n", r);
        r = process_vm_readv(0x7ffffff0, &local, 1, &remote, 1, 0);
        printf("process_vm_readv from no process: %ld %s\n", r, strerror(errno));
        r = process_vm_readv(c, (struct iovec *)8, 1, &remote, 1, 0);
        printf("process_vm_readv with bad local iovecs: %ld %s\n", r, strerror(errno));
        struct iovec bad = {(void *)8, sizeof buf};
        r = process_vm_readv(c, &bad, 1, &remote, 1, 0);
        printf("process_vm_readv into a bad buffer: %ld %s\n", r, strerror(errno));
        r = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
        printf("process_vm_readv of oneself: %ld value %ld\n", r, buf);
    }

    /* getpid: skipped, returns 42 */
    struct user_regs_struct regs;
    st = next_syscall(c, "getpid entry");
    P(PTRACE_GETREGS, c, 0, &regs);
    printf("entry: orig_ax is getpid %d, ax %ld\n", ORIG(regs) == SYS_getpid, AX(regs));
    n = P(GET_SYSCALL_INFO, c, sizeof info, &info);
    printf("syscall info: size %ld op %d nr is getpid %d\n", n, info.op, info.entry.nr == SYS_getpid);
    errno = 0;
    unsigned long msg = 0;
    P(PTRACE_GETEVENTMSG, c, 0, &msg);
    printf("eventmsg at entry %lu\n", msg);
    SETORIG(regs, -1);
    SETAX(regs, 42);
    show("setregs", P(PTRACE_SETREGS, c, 0, &regs));
    st = next_syscall(c, "getpid exit");
    P(PTRACE_GETREGS, c, 0, &regs);
    printf("exit: orig_ax %ld ax %ld\n", ORIG(regs), AX(regs));
    n = P(GET_SYSCALL_INFO, c, sizeof info, &info);
    printf("syscall info: size %ld op %d rval %lld error %d\n", n, info.op, (long long)info.exit.rval, info.exit.is_error);

    /* write: count cut to 2 */
    st = next_syscall(c, "write entry");
    P(PTRACE_GETREGS, c, 0, &regs);
    ARG2(regs) = 2;
    P(PTRACE_SETREGS, c, 0, &regs);
    st = next_syscall(c, "write exit");
    P(PTRACE_GETREGS, c, 0, &regs);
    printf("write exit ax %ld\n", AX(regs));
    for (;;) {          /* to getuid's exit */
        st = next_syscall(c, "stop");
        P(PTRACE_GETREGS, c, 0, &regs);
        if (ORIG(regs) == SYS_getuid
#ifdef SYS_getuid32
            || ORIG(regs) == SYS_getuid32
#endif
            )
            break;
    }
    st = next_syscall(c, "getuid exit");
    P(PTRACE_GETREGS, c, 0, &regs);
    SETAX(regs, 77);
    P(PTRACE_SETREGS, c, 0, &regs);
    {
        struct user_regs_struct r2;
        struct iovec iov = {&r2, sizeof r2};
        show("getregset prstatus", P(GETREGSET, c, 1, &iov));
        printf("regset size %zu\n", iov.iov_len);
        show("getregset bad note", P(GETREGSET, c, 0x999, &iov));
    }
    /* Continue without syscall stops: the signals stop it. */
    P(PTRACE_CONT, c, 0, 0);
    st = wait_stop(c, "signal stop");
    P(PTRACE_CONT, c, 0, SIGUSR2);              /* replaces SIGUSR1 */
    st = wait_stop(c, "signal stop");
    if (WSTOPSIG(st) == SIGUSR2)                /* the replacement, delivered */
        P(PTRACE_CONT, c, 0, SIGUSR2), st = wait_stop(c, "signal stop");
    P(PTRACE_CONT, c, 0, 0);                    /* SIGTERM suppressed */
    st = wait_stop(c, "fork event");
    if (st >> 16 == EVENT_FORK) {
        unsigned long g = 0;
        P(PTRACE_GETEVENTMSG, c, 0, &g);
        int gst = wait_stop((pid_t)g, "grandchild first stop");
        (void)gst;
        P(PTRACE_CONT, (pid_t)g, 0, 0);
        st = wait_stop((pid_t)g, "grandchild exit event");
        P(PTRACE_GETEVENTMSG, (pid_t)g, 0, &msg);
        printf("grandchild exit eventmsg %#lx\n", msg);
        P(PTRACE_CONT, (pid_t)g, 0, 0);
        wait_stop((pid_t)g, "grandchild end");
    }
    P(PTRACE_CONT, c, 0, 0);
    st = wait_stop(c, "child");
    while (WIFSTOPPED(st)) {
        if (st >> 16 == EVENT_EXIT) {
            P(PTRACE_GETEVENTMSG, c, 0, &msg);
            printf("exit eventmsg %#lx\n", msg);
            P(PTRACE_CONT, c, 0, 0);
        } else {
            P(PTRACE_CONT, c, 0, WSTOPSIG(st) == SIGCHLD ? SIGCHLD : 0);
        }
        st = wait_stop(c, "child");
    }
    show("cont after the end", P(PTRACE_CONT, c, 0, 0));

    /* PTRACE_KILL */
    c = fork();
    if (c == 0) {
        P(PTRACE_TRACEME, 0, 0, 0);
        kill(getpid(), SIGSTOP);
        for (;;)
            pause();
    }
    wait_stop(c, "second child");
    show("kill", P(PTRACE_KILL, c, 0, 0));
    wait_stop(c, "second child");
    return 0;
}
