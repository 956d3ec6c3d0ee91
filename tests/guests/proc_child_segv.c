/* A forked child dies of SIGSEGV; its parent reports it. With
 * SYSGATE_VERBOSE=1 sysgate also says why the child died. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    pid_t p = fork();
    if (p == 0) { *(volatile int *)8 = 1; return 0; }
    int st; waitpid(p, &st, 0);
    printf("child died of %d\n", WTERMSIG(st));
    return 0;
}
