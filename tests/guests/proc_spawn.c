/* vfork and posix_spawn share the parent's memory until the child execs or
 * exits (CLONE_VM|CLONE_VFORK): the parent sees the child's stores, which
 * is how glibc's posix_spawn reports an exec failure (the errno the child
 * wrote) rather than a child that exits 127. */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static int global = 1;

int main(int argc, char **argv) {
    if (argc > 1) {
        printf("spawned with %s\n", argv[1]);
        return atoi(argv[1]);
    }
    setvbuf(stdout, NULL, _IONBF, 0);

    /* The child's stores land in the parent: a global, a local, the heap. */
    int local = 2;
    int *heap = malloc(sizeof *heap);
    *heap = 3;
    pid_t pid = vfork();
    if (pid == 0) {
        global = 10;
        local = 20;
        *heap = 30;
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("after vfork: global %d local %d heap %d status %#x\n", global, local, *heap, status);

    /* A PROT_WRITE-only page stays readable in the child (x86 pages cannot
     * be write-only). */
    volatile int *wo = mmap(NULL, 4096, PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    wo[0] = 4;
    pid = vfork();
    if (pid == 0) {
        wo[1] = wo[0] + 1;
        _exit(0);
    }
    waitpid(pid, &status, 0);
    printf("write-only page: child status %#x, stored %d\n", status, wo[1]);

    /* A process the vfork child forks has memory of its own. */
    global = 1;
    pid = vfork();
    if (pid == 0) {
        if (fork() == 0) {
            global = 99;
            _exit(0);
        }
        _exit(0);
    }
    waitpid(pid, &status, 0);
    struct timespec ts = {0, 200000000};
    nanosleep(&ts, NULL);
    printf("grandchild's store: global %d\n", global);

    /* posix_spawn: success, and a program that does not exist. */
    char *args[] = {argv[0], "7", NULL};
    int r = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, args, environ);
    waitpid(pid, &status, 0);
    printf("spawn: %d, exit %d\n", r, WEXITSTATUS(status));
    char *missing[] = {"/no/such/program", NULL};
    pid = -1;
    r = posix_spawn(&pid, "/no/such/program", NULL, NULL, missing, environ);
    printf("spawn missing: %s\n", strerror(r));
    r = posix_spawnp(&pid, "no-such-program-anywhere", NULL, NULL, missing, environ);
    printf("spawnp missing: %s\n", strerror(r));
    printf("children left: %d\n", waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD ? 0 : 1);
    return 0;
}
