/* exec_chain N A B: fork, and in the child exec B with "N-1 B A" (the
 * other ABI's build of this program), N times down; each level prints what
 * it is and what its child ended with, and checks that it starts clean
 * (registers as execve leaves them, a fresh heap, no inherited mapping). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static char big[1 << 16];

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: exec_chain N A B\n");
        return 2;
    }
    int n = atoi(argv[1]);
    for (size_t i = 0; i < sizeof big; i++)
        if (big[i]) {
            printf("level %d: bss not clean\n", n);
            return 3;
        }
    memset(big, 0x5a, sizeof big);        /* the next image must not see it */
    char *p = malloc(100);
    strcpy(p, "heap");
    printf("level %d: %zu-bit, %s\n", n, sizeof(long) * 8, p);
    fflush(stdout);
    if (n == 0)
        return 7;
    /* a mapping the exec must drop */
    void *m = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 4;
    pid_t pid = fork();
    if (pid == 0) {
        char num[16];
        snprintf(num, sizeof num, "%d", n - 1);
        char *args[] = {argv[3], num, argv[3], argv[2], NULL};
        execv(argv[3], args);
        perror("execv");
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return 5;
    printf("level %d: child %s %d\n", n, WIFEXITED(st) ? "exited" : "killed",
           WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    return n == 1 ? 0 : WEXITSTATUS(st);
}
