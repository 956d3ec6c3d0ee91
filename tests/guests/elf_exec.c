#define _GNU_SOURCE
/* execve each file named on the command line in a child of its own and
 * report how it went, one line per file:
 *   errno N      execve failed with N (sent back through a close-on-exec pipe)
 *   exit N       the program ran and exited with N
 *   signal N     the program (or the exec past its point of no return) died of N
 *   timeout      still running after the time limit (argv[1], in ms); killed
 * The children's own output goes to /dev/null. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long limit_ms = argc > 1 ? atol(argv[1]) : 5000;
    char *const envp[] = {"PATH=/usr/bin:/bin", NULL};
    for (int i = 2; i < argc; i++) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) { perror("pipe2"); return 1; }
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid == 0) {
            close(p[0]);
            int null = open("/dev/null", O_RDWR);
            dup2(null, 0); dup2(null, 1); dup2(null, 2);
            char *const args[] = {argv[i], NULL};
            execve(argv[i], args, envp);
            int e = errno;
            write(p[1], &e, sizeof e);
            _exit(127);
        }
        close(p[1]);
        int e = 0, got = 0, status = 0;
        got = read(p[0], &e, sizeof e);
        close(p[0]);
        long waited = 0;
        pid_t r;
        while ((r = waitpid(pid, &status, WNOHANG)) == 0 && waited < limit_ms) {
            struct timespec ts = {0, 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
            waited += 5;
        }
        if (r == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            printf("%s timeout\n", argv[i]);
        } else if (got == sizeof e)
            printf("%s errno %d\n", argv[i], e);
        else if (WIFSIGNALED(status))
            printf("%s signal %d\n", argv[i], WTERMSIG(status));
        else
            printf("%s exit %d\n", argv[i], WEXITSTATUS(status));
        fflush(stdout);
    }
    return 0;
}
