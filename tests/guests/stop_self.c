/* A process that stops itself with SIGSTOP (raise, kill of its own pid),
 * seen by its parent's waitpid(WUNTRACED), then continued after a while
 * (LTP waitpid08). */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static void one(int how)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (how)
            kill(getpid(), SIGSTOP);
        else
            raise(SIGSTOP);
        _exit(3 + how);
    }
    int st;
    pid_t r = waitpid(pid, &st, WUNTRACED);
    printf("%s: %d stopped %d sig %d\n", how ? "kill" : "raise", r == pid, WIFSTOPPED(st),
           WSTOPSIG(st));
    usleep(300000);         /* stopped for longer than sysgate's signal helper waits */
    kill(pid, SIGCONT);
    r = waitpid(pid, &st, 0);
    printf("exited %d status %d\n", WIFEXITED(st), WEXITSTATUS(st));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    one(0);
    one(1);
    return 0;
}
