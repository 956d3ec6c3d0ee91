/* Signals racing execve: a child whose own child ends (SIGCHLD) just as it
   execs must start the new program, never die of SIGSEGV; and a stopped,
   continued child sent SIGTERM dies of SIGTERM. argv[1]: iterations. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_chld(int s) { (void)s; }

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "exec") == 0)
        return 7;                       /* the new program */
    if (argc > 1 && strcmp(argv[1], "spin") == 0)
        for (;;)
            ;
    int n = argc > 1 ? atoi(argv[1]) : 50;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            /* bash's `(true) & exec prog`: a handler for SIGCHLD, reset by
               exec; the child's end races the exec. */
            signal(SIGCHLD, on_chld);
            if (fork() == 0)
                _exit(0);
            signal(SIGCHLD, SIG_DFL);
            execl("/proc/self/exe", argv[0], "exec", (char *)0);
            _exit(99);
        }
        int st;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 7) {
            printf("exec %d: status %#x\n", i, st);
            bad++;
        }
    }
    for (int i = 0; i < n / 10 + 1; i++) {
        pid_t pid = fork();
        if (pid == 0)
            execl("/proc/self/exe", argv[0], "spin", (char *)0);
        int st;
        if (i & 1)
            usleep(1000 * (i % 7));
        kill(pid, SIGSTOP);
        waitpid(pid, &st, WUNTRACED);
        kill(pid, SIGCONT);
        kill(pid, SIGTERM);
        waitpid(pid, &st, 0);
        if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGTERM) {
            printf("stop/cont/term %d: status %#x\n", i, st);
            bad++;
        }
    }
    printf("%d bad\n", bad);
    return 0;
}
