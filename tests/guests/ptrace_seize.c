/* PTRACE_SEIZE, INTERRUPT and LISTEN: options given at seize time, no
 * SIGSTOP on attach, PTRACE_EVENT_STOP traps (interrupt, group-stop, a
 * seized child's start, seizing a stopped process), LISTEN until SIGCONT,
 * a traditional group-stop without siginfo, the SIGCHLD a tracer gets
 * (CLD_TRAPPED, CLD_STOPPED, with the tracee's pid and status), and the
 * errno of garbage. Prints nothing that differs between runs. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define P(req, pid, a, d) ptrace((int)(req), (pid), (void *)(uintptr_t)(a), (void *)(uintptr_t)(d))
#define SEIZE 0x4206
#define INTERRUPT 0x4207
#define LISTEN 0x4208
#define EVENT_STOP 128

static sigset_t chld;

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s: -1 %s\n", what, strerror(errno));
    else
        printf("%s: %ld\n", what, r);
}

static const char *cld(int code)
{
    static const char *n[] = {"?", "CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED",
                              "CLD_STOPPED", "CLD_CONTINUED"};
    return code >= 0 && code <= 6 ? n[code] : "?";
}

/* The SIGCHLD the last event sent (blocked, so it waits for sigtimedwait). */
static void sigchld(pid_t pid, const char *what)
{
    struct timespec ts = {2, 0};
    siginfo_t si;
    if (sigtimedwait(&chld, &si, &ts) != SIGCHLD) {
        printf("%s: no SIGCHLD\n", what);
        return;
    }
    printf("%s: SIGCHLD %s status %d from tracee %d\n", what, cld(si.si_code), si.si_status,
           si.si_pid == pid);
}

/* A stop or end of pid, and the SIGCHLD it sent (one a stop: each is
 * taken before the tracee can stop again). */
static void waited(pid_t pid, const char *what)
{
    int st = 0;
    pid_t w = waitpid(pid, &st, __WALL);
    if (w != pid)
        printf("%s: waitpid %s\n", what, strerror(errno));
    else if (WIFSTOPPED(st))
        printf("%s: stopped sig %d event %d\n", what, WSTOPSIG(st), st >> 16);
    else if (WIFEXITED(st))
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else
        printf("%s: killed by %d\n", what, WTERMSIG(st));
    sigchld(pid, what);
}

static void siginfo_of(pid_t pid, const char *what)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    long r = P(PTRACE_GETSIGINFO, pid, 0, &si);
    if (r < 0)
        printf("%s: getsiginfo -1 %s\n", what, strerror(errno));
    else
        printf("%s: siginfo signo %d code %#x from tracee %d\n", what, si.si_signo, si.si_code,
               si.si_pid == pid);
}

static pid_t spinner(void)
{
    pid_t c = fork();
    if (c == 0) {
        for (volatile unsigned long i = 0;; i++)
            if (i % 1000000 == 0)
                usleep(1000);
    }
    return c;
}

static void end(pid_t c, const char *what)
{
    kill(c, SIGKILL);
    waited(c, what);
}

/* Let the SIGCHLDs of stops that came together arrive, and drop them. */
static void drain(void)
{
    struct timespec ts = {0, 300000000};
    siginfo_t si;
    while (sigtimedwait(&chld, &si, &ts) == SIGCHLD)
        ;
}

static void waited_quiet(pid_t pid, const char *what)
{
    int st = 0;
    pid_t w = waitpid(pid, &st, __WALL);
    printf("%s: %s sig %d event %d\n", what, w == pid && WIFSTOPPED(st) ? "stopped" : "not stopped",
           WSTOPSIG(st), st >> 16);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);

    show("seize self", P(SEIZE, getpid(), 0, 0));
    show("seize no process", P(SEIZE, 0x7ffffff0, 0, 0));
    show("interrupt no tracee", P(INTERRUPT, getppid(), 0, 0));

    /* A computing tracee: interrupt, group-stop, listen, SIGCONT. */
    pid_t c = spinner();
    usleep(100000);
    show("seize addr 1", P(SEIZE, c, 1, 0));
    show("seize bad options", P(SEIZE, c, 0, 0x80000000UL));
    show("seize", P(SEIZE, c, 0, PTRACE_O_TRACESYSGOOD));
    show("seize again", P(SEIZE, c, 0, 0));
    show("attach when seized", P(PTRACE_ATTACH, c, 0, 0));
    usleep(50000);
    int st;
    show("no stop after seize", waitpid(c, &st, WNOHANG));
    show("getregs running", P(PTRACE_GETREGS, c, 0, 0));
    show("listen running", P(LISTEN, c, 0, 0));
    show("interrupt", P(INTERRUPT, c, 0, 0));
    waited(c, "interrupt");
    siginfo_of(c, "interrupt");
    show("interrupt stopped", P(INTERRUPT, c, 0, 0));
    show("cont", P(PTRACE_CONT, c, 0, 0));
    waited(c, "trap after cont");
    siginfo_of(c, "trap after cont");
    show("cont", P(PTRACE_CONT, c, 0, 0));
    kill(c, SIGSTOP);
    waited(c, "SIGSTOP delivery");
    siginfo_of(c, "SIGSTOP delivery");
    show("listen at signal stop", P(LISTEN, c, 0, 0));
    show("cont SIGSTOP", P(PTRACE_CONT, c, 0, SIGSTOP));
    waited(c, "group-stop");
    siginfo_of(c, "group-stop");
    show("listen", P(LISTEN, c, 0, 0));
    show("getsiginfo listening", P(PTRACE_GETSIGINFO, c, 0, 0));
    show("cont listening", P(PTRACE_CONT, c, 0, 0));
    usleep(50000);
    show("no stop while listening", waitpid(c, &st, WNOHANG | __WALL));
    kill(c, SIGCONT);
    waited(c, "SIGCONT ends listen");
    siginfo_of(c, "SIGCONT ends listen");
    show("cont", P(PTRACE_CONT, c, 0, 0));
    waited(c, "SIGCONT delivery");
    siginfo_of(c, "SIGCONT delivery");
    show("cont", P(PTRACE_CONT, c, 0, 0));
    /* LISTEN, then INTERRUPT instead of SIGCONT. */
    show("interrupt", P(INTERRUPT, c, 0, 0));
    waited(c, "interrupt 2");
    show("listen", P(LISTEN, c, 0, 0));
    usleep(50000);
    show("interrupt listening", P(INTERRUPT, c, 0, 0));
    waited(c, "interrupt ends listen");
    siginfo_of(c, "interrupt ends listen");
    show("detach", P(PTRACE_DETACH, c, 0, 0));
    show("interrupt detached", P(INTERRUPT, c, 0, 0));
    end(c, "spinner end");

    /* A tracee blocked in a call: the interrupt does not end the call. */
    int p[2];
    pipe(p);
    c = fork();
    if (c == 0) {
        char ch;
        close(p[1]);
        ssize_t n = read(p[0], &ch, 1);
        printf("reader: read %zd %c\n", n, ch);
        _exit(5);
    }
    close(p[0]);
    usleep(100000);
    show("seize reader", P(SEIZE, c, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXIT));
    show("interrupt reader", P(INTERRUPT, c, 0, 0));
    waited(c, "reader interrupt");
    show("cont", P(PTRACE_CONT, c, 0, 0));
    write(p[1], "z", 1);
    waited(c, "reader exit event");
    show("cont", P(PTRACE_CONT, c, 0, 0));
    waited(c, "reader end");

    /* Seizing a stopped process: it traps into the group-stop at once. */
    c = fork();
    if (c == 0) {
        raise(SIGSTOP);
        getpid();
        _exit(6);
    }
    waitpid(c, &st, WUNTRACED);
    printf("stopped child: stopped %d sig %d\n", WIFSTOPPED(st), WSTOPSIG(st));
    sigchld(c, "stopped child");
    show("seize stopped", P(SEIZE, c, 0, PTRACE_O_TRACEFORK));
    waited(c, "seized stopped");
    siginfo_of(c, "seized stopped");
    show("listen", P(LISTEN, c, 0, 0));
    kill(c, SIGCONT);
    waited(c, "SIGCONT");
    siginfo_of(c, "SIGCONT");
    show("cont", P(PTRACE_CONT, c, 0, 0));
    waited(c, "SIGCONT delivery");
    show("cont", P(PTRACE_CONT, c, 0, 0));
    waited(c, "stopped child end");

    /* A seized tracee's forked child starts with PTRACE_EVENT_STOP. */
    c = fork();
    if (c == 0) {
        raise(SIGSTOP);
        pid_t g = fork();
        if (g == 0)
            _exit(8);
        waitpid(g, &st, 0);
        _exit(WEXITSTATUS(st) + 1);
    }
    waitpid(c, &st, WUNTRACED);
    sigchld(c, "forker stopped");
    show("seize forker", P(SEIZE, c, 0, PTRACE_O_TRACEFORK));
    waited(c, "forker seized");
    kill(c, SIGCONT);
    usleep(50000);
    show("cont", P(PTRACE_CONT, c, 0, 0));
    /* The trap SIGCONT causes, its delivery, then the fork event. */
    waited(c, "forker SIGCONT");
    show("cont", P(PTRACE_CONT, c, 0, 0));
    waited(c, "forker SIGCONT delivery");
    show("cont", P(PTRACE_CONT, c, 0, 0));
    /* The fork event and the grandchild's trap come together: their
     * SIGCHLDs merge or not. */
    waited_quiet(c, "forker fork event");
    unsigned long gpid = 0;
    P(PTRACE_GETEVENTMSG, c, 0, &gpid);
    if (gpid == 0) {
        printf("no fork event\n");
        kill(c, SIGKILL);
        return 1;
    }
    waited_quiet(gpid, "grandchild start");
    drain();
    siginfo_of(gpid, "grandchild start");
    show("cont grandchild", P(PTRACE_CONT, gpid, 0, 0));
    waited(gpid, "grandchild end");
    show("cont forker", P(PTRACE_CONT, c, 0, 0));
    waited(c, "forker end");

    /* A traditional (ATTACH) tracee's group-stop: no siginfo, no LISTEN. */
    c = spinner();
    usleep(100000);
    show("attach", P(PTRACE_ATTACH, c, 0, 0));
    waited(c, "attach SIGSTOP");
    show("interrupt attached", P(INTERRUPT, c, 0, 0));
    show("cont SIGSTOP", P(PTRACE_CONT, c, 0, SIGSTOP));
    waited(c, "attached group-stop");
    siginfo_of(c, "attached group-stop");
    show("listen attached", P(LISTEN, c, 0, 0));
    show("cont", P(PTRACE_CONT, c, 0, 0));
    usleep(50000);
    show("runs after group-stop", waitpid(c, &st, WNOHANG | __WALL));
    end(c, "attached end");
    return 0;
}
