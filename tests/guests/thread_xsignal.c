/* Signals from another process to a thread that is not the leader:
   tgkill(pid, tid) reaches exactly that thread (blocked in read, which
   then fails with EINTR; the handler sees gettid() == tid, SI_TKILL and the
   sender's pid), and a process-directed kill() goes to the thread that does
   not block the signal while the leader blocks it (here the thread is
   computing). tgkill naming a tid of another group is ESRCH. With "rt", a
   real-time signal (argv[2]) is sent the same ways. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static int to_parent[2], never[2];
static int sig_a = SIGUSR2, sig_b = SIGUSR1;
static volatile sig_atomic_t got_a, got_b;
static volatile long a_tid, b_tid, a_code, a_pid, b_code, b_pid;
static long thread_tid;

static long tid(void) { return syscall(SYS_gettid); }

static void on_signal(int sig, siginfo_t *si, void *ctx) {
    if (sig == sig_a) {
        a_tid = tid(), a_code = si->si_code, a_pid = si->si_pid;
        got_a = 1;
    } else {
        b_tid = tid(), b_code = si->si_code, b_pid = si->si_pid;
        got_b = 1;
    }
}

static void *thread(void *arg) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig_b);
    pthread_sigmask(SIG_UNBLOCK, &s, 0);
    thread_tid = tid();
    if (write(to_parent[1], &thread_tid, sizeof thread_tid) != sizeof thread_tid)
        exit(9);
    char c;
    long r = read(never[0], &c, 1);
    printf("read in the thread: %ld %s, handler ran %d in the thread %d\n", r,
           r < 0 ? strerror(errno) : "", got_a, a_tid == thread_tid);
    if (write(to_parent[1], "r", 1) != 1)
        exit(9);
    unsigned long spins = 0;
    while (!got_b)
        spins++;
    printf("process-directed signal taken by the thread %d\n", b_tid == thread_tid);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, 0, _IOLBF, 0);
    if (argc > 1 && !strcmp(argv[1], "rt")) {
        sig_a = SIGRTMIN + 3;
        sig_b = SIGRTMIN + 4;
    }
    if (pipe(to_parent) || pipe(never))
        return 8;
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_signal;
        sa.sa_flags = SA_SIGINFO;
        sigaction(sig_a, &sa, 0);
        sigaction(sig_b, &sa, 0);
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, sig_b);
        sigprocmask(SIG_BLOCK, &s, 0);      /* the leader blocks sig_b */
        pthread_t th;
        pthread_create(&th, 0, thread, 0);
        pthread_join(th, 0);
        printf("tgkill: code SI_TKILL %d, from the parent %d\n", a_code == SI_TKILL,
               a_pid == parent);
        printf("kill: code SI_USER %d, from the parent %d\n", b_code == SI_USER,
               b_pid == parent);
        return 0;
    }
    long ttid, r1, r2, r3, r4;
    int e1, e2;
    if (read(to_parent[0], &ttid, sizeof ttid) != sizeof ttid)
        return 7;
    r1 = syscall(SYS_tgkill, child, parent, sig_a);
    e1 = errno;
    r2 = syscall(SYS_tgkill, parent, ttid, sig_a);
    e2 = errno;
    usleep(50000);
    r3 = syscall(SYS_tgkill, child, ttid, sig_a);
    char c;
    if (read(to_parent[0], &c, 1) != 1)
        return 6;
    usleep(50000);
    r4 = kill(child, sig_b);
    int status;
    waitpid(child, &status, 0);
    /* After the child's own lines, so that the output's order is fixed. */
    printf("tgkill naming a tid of another group: %ld %s\n", r1, r1 < 0 ? strerror(e1) : "");
    printf("tgkill with the wrong group: %ld %s\n", r2, r2 < 0 ? strerror(e2) : "");
    printf("tgkill of the thread: %ld, kill of the process: %ld\n", r3, r4);
    printf("child status %#x\n", status);
    return 0;
}
