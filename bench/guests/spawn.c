/* spawn N: fork N children, one at a time, each exec'ing this program
 * again (argv[0], so name it by a path) as "spawn exit" (which exits at once), and wait for each: the cost
 * of a fork+exec+exit+wait, as a shell's loop of /bin/true pays it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "exit") == 0)
        return 0;
    int n = argc > 1 ? atoi(argv[1]) : 10;
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            char *args[] = {argv[0], "exit", NULL};
            execv(argv[0], args);
            perror("execv");
            _exit(127);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
            fprintf(stderr, "child %d: status %#x\n", i, status);
            return 1;
        }
    }
    printf("%d\n", n);
    return 0;
}
