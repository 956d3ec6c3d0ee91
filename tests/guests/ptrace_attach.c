/* PTRACE_ATTACH and DETACH: a parent attaches to a child blocked in a
 * system call and to one computing, a sibling attaches to a process that
 * is not its child, and the errno of attaching twice, to oneself and to
 * no process. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile long marker = 4321;

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s: -1 %s\n", what, strerror(errno));
    else
        printf("%s: %ld\n", what, r);
}

static void stopped(pid_t pid, const char *what)
{
    int st = 0;
    pid_t w = waitpid(pid, &st, __WALL);
    if (w != pid)
        printf("%s: waitpid %s\n", what, strerror(errno));
    else if (WIFSTOPPED(st))
        printf("%s: stopped by signal %d\n", what, WSTOPSIG(st));
    else if (WIFEXITED(st))
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else
        printf("%s: killed by %d\n", what, WTERMSIG(st));
}

static void check(pid_t pid, const char *who)
{
    errno = 0;
    long v = ptrace(PTRACE_PEEKDATA, pid, (void *)&marker, 0);
    printf("%s: marker %ld errno %d\n", who, v, errno);
    show("attach again", ptrace(PTRACE_ATTACH, pid, 0, 0));
    show("detach", ptrace(PTRACE_DETACH, pid, 0, 0));
    show("peek after detach", ptrace(PTRACE_PEEKDATA, pid, (void *)&marker, 0));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    show("attach to self", ptrace(PTRACE_ATTACH, getpid(), 0, 0));
    show("attach to no process", ptrace(PTRACE_ATTACH, 0x7ffffff0, 0, 0));

    int p[2];
    pipe(p);
    pid_t sleeper = fork();
    if (sleeper == 0) {
        char c;
        close(p[1]);
        marker = 1111;
        ssize_t n = read(p[0], &c, 1);      /* blocked here when attached */
        printf("sleeper: read returned %zd\n", n);
        _exit(7);
    }
    close(p[0]);
    usleep(200000);
    show("attach to a blocked child", ptrace(PTRACE_ATTACH, sleeper, 0, 0));
    stopped(sleeper, "blocked child");
    check(sleeper, "blocked child");
    write(p[1], "x", 1);
    stopped(sleeper, "blocked child end");

    pid_t spinner = fork();
    if (spinner == 0) {
        marker = 2222;
        for (;;)
            marker = marker;
    }
    usleep(200000);
    show("attach to a computing child", ptrace(PTRACE_ATTACH, spinner, 0, 0));
    stopped(spinner, "computing child");
    errno = 0;
    printf("computing child: marker %ld\n", ptrace(PTRACE_PEEKDATA, spinner, (void *)&marker, 0));

    show("parent detaches", ptrace(PTRACE_DETACH, spinner, 0, 0));
    pid_t sibling = fork();
    if (sibling == 0) {
        /* Not the spinner's parent: only the tracer hears of its stops. */
        show("sibling attaches", ptrace(PTRACE_ATTACH, spinner, 0, 0));
        stopped(spinner, "sibling's tracee");
        errno = 0;
        printf("sibling: marker %ld errno %d\n",
               ptrace(PTRACE_PEEKDATA, spinner, (void *)&marker, 0), errno);
        show("sibling kills it", kill(spinner, SIGKILL));
        stopped(spinner, "sibling's tracee");
        _exit(0);
    }
    stopped(sibling, "sibling");
    stopped(spinner, "computing child end");
    return 0;
}
