#define _GNU_SOURCE
/* execveat of a #! script by descriptor: its interpreter is given /dev/fd/N
 * (or /dev/fd/N/name), and ENOENT when the descriptor is close-on-exec. */

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <errno.h>
#include <sys/syscall.h>
#include <sys/wait.h>
static void try(int dirfd, const char *p, int fl, const char *what) {
    pid_t c = fork();
    if (!c) {
        char *argv[] = {"arg0", "x", NULL}; char *envp[] = {NULL};
        syscall(SYS_execveat, dirfd, p, argv, envp, fl);
        printf("%s: errno %d\n", what, errno); fflush(stdout); _exit(1);
    }
    int st; waitpid(c, &st, 0);
}
int main(int argc, char **argv) {
    int d = open(argv[1], O_RDONLY | O_DIRECTORY);
    int s = open(argv[2], O_RDONLY);
    int sc = open(argv[2], O_RDONLY | O_CLOEXEC);
    try(s, "", AT_EMPTY_PATH, "fd");
    try(sc, "", AT_EMPTY_PATH, "cloexec fd");
    try(d, "sc.sh", 0, "dir+rel");
    return 0;
}
