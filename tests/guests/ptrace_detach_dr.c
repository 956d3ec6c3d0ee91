/* PTRACE_DETACH leaves the debug registers set, as Linux does: a tracer
 * that attaches again reads them back (and a watched store while traced
 * stops the tracee). */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int watched;

#define DR(n) ((void *)(offsetof(struct user, u_debugreg) + (n) * sizeof(long)))

int main(void)
{
    int st, go[2], ready[2];
    char c;
    pipe(go);
    pipe(ready);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit no = {0, 0};
        setrlimit(RLIMIT_CORE, &no);
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        write(ready[1], "r", 1);
        read(go[0], &c, 1);
        watched = 1;
        _exit(0);
    }
    waitpid(pid, &st, 0);
    long dr7 = 1 | (1L << 16) | (3L << 18);      /* slot 0: writes of 4 bytes */
    printf("poke dr0: %ld\n", ptrace(PTRACE_POKEUSER, pid, DR(0), (void *)&watched));
    printf("poke dr7: %ld\n", ptrace(PTRACE_POKEUSER, pid, DR(7), (void *)dr7));
    printf("detach: %ld\n", ptrace(PTRACE_DETACH, pid, 0, 0));
    read(ready[0], &c, 1);
    printf("attach: %ld\n", ptrace(PTRACE_ATTACH, pid, 0, 0));
    waitpid(pid, &st, 0);
    printf("stopped by %d\n", WSTOPSIG(st));
    printf("dr0 kept: %d\n", ptrace(PTRACE_PEEKUSER, pid, DR(0), 0) == (long)&watched);
    printf("dr7 kept: %d\n", ptrace(PTRACE_PEEKUSER, pid, DR(7), 0) == dr7);
    printf("cont: %ld\n", ptrace(PTRACE_CONT, pid, 0, 0));
    write(go[1], "g", 1);
    waitpid(pid, &st, 0);
    printf("stopped by %d\n", WIFSTOPPED(st) ? WSTOPSIG(st) : -1);
    printf("dr6 slot 0: %ld\n", ptrace(PTRACE_PEEKUSER, pid, DR(6), 0) & 1);
    printf("detach: %ld\n", ptrace(PTRACE_DETACH, pid, 0, 0));
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st))
        printf("child killed by signal %d\n", WTERMSIG(st));
    else
        printf("child exited %d\n", WEXITSTATUS(st));
    return 0;
}
