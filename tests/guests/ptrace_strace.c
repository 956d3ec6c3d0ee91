/* What strace -f is compared on: file and descriptor calls with strings
 * and structures, a failing call, a signal with a handler, a fork whose
 * child writes and exits, and the wait for it (SIGCHLD blocked). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_usr1(int s) { (void)s; write(1, "handler\n", 8); }

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int fd = open("/nonexistent/file", O_RDONLY);
    int p[2];
    pipe(p);
    write(p[1], "through the pipe", 16);
    char buf[32] = {0};
    read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    close(p[1]);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    kill(getpid(), SIGUSR1);
    /* SIGCHLD blocked: delivered, it would come before or after wait4 as
     * the child's end and the wait race (natively too: strace's log then
     * differed from run to run). */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    pid_t c = fork();
    if (c == 0) {
        write(1, "child\n", 6);
        _exit(3);
    }
    int st;
    waitpid(c, &st, 0);
    char msg[64];
    int n = snprintf(msg, sizeof msg, "fd %d read %s status %d\n", fd, buf, WEXITSTATUS(st));
    write(1, msg, n);
    return 0;
}
