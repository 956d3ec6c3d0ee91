/* Signals sent to a tracee by a third process (neither the tracer nor the
 * tracee): each gives the tracer a signal-delivery-stop with the sender's
 * pid, SIGSTOP included (it must not stop the tracee behind its tracer's
 * back); the tracee then stops in a group-stop its tracer sees. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    int st, p[2];
    pipe(p);
    pid_t tracee = fork();
    if (tracee == 0) {
        char c;
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        read(p[0], &c, 1);      /* blocked here while the signals come */
        _exit(4);
    }
    waitpid(tracee, &st, 0);
    printf("first stop: %d\n", WSTOPSIG(st));
    ptrace(PTRACE_CONT, tracee, 0, 0);
    pid_t sender = fork();
    if (sender == 0) {
        usleep(100000);
        kill(tracee, SIGUSR1);
        usleep(100000);
        kill(tracee, SIGSTOP);
        _exit(0);
    }
    for (int i = 0; i < 2; i++) {
        waitpid(tracee, &st, 0);
        siginfo_t si;
        memset(&si, 0, sizeof si);
        ptrace(PTRACE_GETSIGINFO, tracee, 0, &si);
        printf("stop %d: signal %s, from the sender %d, code %d\n", i,
               WIFSTOPPED(st) ? strsignal(WSTOPSIG(st)) : "none", si.si_pid == sender,
               si.si_code);
        /* SIGUSR1 suppressed, SIGSTOP delivered: a group-stop */
        ptrace(PTRACE_CONT, tracee, 0, WSTOPSIG(st) == SIGSTOP ? SIGSTOP : 0);
    }
    waitpid(tracee, &st, 0);
    printf("group-stop: %d\n", WIFSTOPPED(st) ? WSTOPSIG(st) : -1);
    ptrace(PTRACE_CONT, tracee, 0, 0);
    waitpid(sender, &st, 0);
    write(p[1], "x", 1);
    waitpid(tracee, &st, 0);
    printf("tracee exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
}
