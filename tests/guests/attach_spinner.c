/* PTRACE_ATTACH to a program that computes without system calls and has
   set no signal action (a fresh exec: nothing makes its CPU stop exactly
   from outside until it asks): it must stop at once, as natively, not at
   a system call that never comes. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "spin")) {
        volatile long x = 0;
        for (;;)
            x++;
    }
    pid_t c = fork();
    if (c == 0) {
        execl("/proc/self/exe", argv[0], "spin", (char *)0);
        _exit(127);
    }
    usleep(300000);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    long r = ptrace(PTRACE_ATTACH, c, 0, 0);
    int st;
    waitpid(c, &st, 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double dt = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    printf("attach %ld: stopped %d by %d, within 2 s: %d\n", r, WIFSTOPPED(st), WSTOPSIG(st),
           dt < 2.0);
    printf("detach %ld\n", ptrace(PTRACE_DETACH, c, 0, 0));
    kill(c, SIGKILL);
    waitpid(c, &st, 0);
    printf("killed by %d\n", WTERMSIG(st));
    return 0;
}
