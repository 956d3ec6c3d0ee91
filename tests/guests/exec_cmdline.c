/* A child's /proc/<pid>/cmdline, comm and state as its parent reads them
 * after each of the child's execs: first a long command line, then a
 * shorter one (its entry is rewritten in place: no trace of the longer one
 * may show), then once the child has forked (its entry is still its own);
 * and before its first exec, when its entry is the one its parent wrote as
 * the fork returned. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *who, int pid)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf);
    if (fd >= 0)
        close(fd);
    printf("%s cmdline (%zd):", who, n);
    for (ssize_t i = 0; i < n; i++)
        putchar(buf[i] ? buf[i] : '|');
    snprintf(path, sizeof path, "/proc/%d/comm", pid);
    fd = open(path, O_RDONLY);
    n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = 0;
    printf(" comm %s", buf);
    fflush(stdout);
}

/* The child's stages: say which one it is on `ready`, wait for a byte on `go`. */
static void stage(int ready, int go, char c)
{
    char b;
    if (write(ready, &c, 1) != 1 || read(go, &b, 1) != 1)
        exit(3);
}

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "child") == 0) {
        int ready = atoi(argv[2]), go = atoi(argv[3]);
        stage(ready, go, argv[4][0]);
        if (argv[4][0] == '1')
            execl(argv[0], argv[0], "child", argv[2], argv[3], "2", (char *)NULL);
        if (argv[4][0] == '2') {
            pid_t g = fork();
            if (g == 0) {
                stage(ready, go, '3');
                _exit(0);
            }
            int st;
            waitpid(g, &st, 0);
            _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 4);
        }
        if (argv[4][0] == '4')
            return 0;
        return 5;
    }
    int ready[2], go[2];
    if (pipe(ready) || pipe(go))
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        stage(ready[1], go[0], '0');
        char r[16], g[16];
        snprintf(r, sizeof r, "%d", ready[1]);
        snprintf(g, sizeof g, "%d", go[0]);
        execl(argv[0], argv[0], "child", r, g, "1",
              "a-long-argument-that-the-next-exec-does-not-have-xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
              "and-another-one-yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",
              (char *)NULL);
        _exit(2);
    }
    char c;
    while (read(ready[0], &c, 1) == 1) {
        show(c == '0' ? "child before its exec" : c == '1' ? "child after exec 1"
             : c == '2' ? "child after exec 2" : "child, having forked", pid);
        if (write(go[1], "g", 1) != 1)
            return 1;
        if (c == '3')
            break;
    }
    int st;
    waitpid(pid, &st, 0);
    printf("child status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    /* A second child, after the first was reaped: its entry, before and
     * after its exec (a short command line), is its own. */
    pid = fork();
    if (pid == 0) {
        char r[16], g[16];
        stage(ready[1], go[0], '0');
        snprintf(r, sizeof r, "%d", ready[1]);
        snprintf(g, sizeof g, "%d", go[0]);
        execl(argv[0], argv[0], "child", r, g, "4", (char *)NULL);
        _exit(2);
    }
    while (read(ready[0], &c, 1) == 1) {
        show(c == '0' ? "second child before its exec" : "second child after its exec", pid);
        if (write(go[1], "g", 1) != 1)
            return 1;
        if (c == '4')
            break;
    }
    waitpid(pid, &st, 0);
    printf("second child status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
}
