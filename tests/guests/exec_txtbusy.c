/* execve of a file that is open for writing fails with ETXTBSY, in the
 * writer itself and in a child (LTP execve04); once closed it runs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc > 1) {
        printf("copy runs: %s\n", argv[1]);
        return 0;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    int in = open("/proc/self/exe", O_RDONLY);
    int out = open("copy", O_WRONLY | O_CREAT | O_TRUNC, 0755);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        write(out, buf, n);
    char *args[] = {"./copy", "x", NULL};
    execv("./copy", args);
    printf("writer's own execve: errno %d\n", errno);
    pid_t pid = fork();
    if (pid == 0) {
        execv("./copy", args);
        printf("child's execve: errno %d\n", errno);
        _exit(1);
    }
    int st;
    waitpid(pid, &st, 0);
    int ro = open("copy", O_RDONLY);
    close(out);
    pid = fork();
    if (pid == 0) {
        execv("./copy", args);
        printf("after close: errno %d\n", errno);
        _exit(1);
    }
    waitpid(pid, &st, 0);
    close(ro);
    unlink("copy");
    return 0;
}
