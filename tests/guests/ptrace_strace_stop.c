/* What strace -f is compared on for job control: a child that stops
 * itself (a group-stop its tracer sees and lets stand with LISTEN), its
 * parent's wait for that stop, and the SIGCONT that ends it. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    /* SIGCHLD blocked: the parent's calls are never interrupted by one
     * (when is a race), and it reads the stop's with sigtimedwait. */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    pid_t c = fork();
    if (c == 0) {
        raise(SIGSTOP);
        write(1, "child resumed\n", 14);
        _exit(4);
    }
    int st;
    waitpid(c, &st, WUNTRACED);
    char msg[64];
    int n = snprintf(msg, sizeof msg, "stopped %d sig %d\n", WIFSTOPPED(st), WSTOPSIG(st));
    write(1, msg, n);
    siginfo_t si;
    struct timespec ts = {5, 0};
    if (sigtimedwait(&chld, &si, &ts) == SIGCHLD) {
        n = snprintf(msg, sizeof msg, "SIGCHLD code %d status %d\n", si.si_code, si.si_status);
        write(1, msg, n);
    }
    kill(c, SIGCONT);
    waitpid(c, &st, 0);
    n = snprintf(msg, sizeof msg, "exited %d status %d\n", WIFEXITED(st), WEXITSTATUS(st));
    write(1, msg, n);
    return 0;
}
