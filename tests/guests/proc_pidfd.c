/* pidfds: open one for a child, poll it until the child ends, signal a
 * child through one, take one of our own descriptors with pidfd_getfd,
 * and the errors (bad flags, not a pidfd, a pid that does not exist). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static void show(const char *what, long r) {
    if (r < 0)
        printf("%s = -1 errno %d\n", what, errno);
    else
        printf("%s = %ld\n", what, r);
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc > 1) {
        /* Only under sysgate: whoever started the first guest is outside. */
        show("pidfd_open(parent outside the session)", syscall(SYS_pidfd_open, getppid(), 0));
        return 0;
    }
    int go[2];
    pipe(go);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        read(go[0], &c, 1);
        _exit(7);
    }
    int pfd = syscall(SYS_pidfd_open, pid, 0);
    show("pidfd_open(child)", pfd >= 0 ? 0 : -1);
    show("F_GETFD (cloexec)", fcntl(pfd, F_GETFD));
    struct pollfd p = {pfd, POLLIN, 0};
    show("poll while running", poll(&p, 1, 0));
    write(go[1], "x", 1);
    show("poll until it ends", poll(&p, 1, 5000));
    printf("  revents %#x\n", p.revents);
    int st;
    waitpid(pid, &st, 0);
    printf("child exit %d\n", WEXITSTATUS(st));
    close(pfd);

    pid = fork();
    if (pid == 0) {
        pause();
        _exit(0);
    }
    pfd = syscall(SYS_pidfd_open, pid, 0);
    show("pidfd_send_signal(SIGTERM)", syscall(SYS_pidfd_send_signal, pfd, SIGTERM, NULL, 0));
    waitpid(pid, &st, 0);
    printf("child killed by %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
    show("pidfd_send_signal(bad flags)", syscall(SYS_pidfd_send_signal, pfd, 0, NULL, 8));
    show("pidfd_send_signal(not a pidfd)", syscall(SYS_pidfd_send_signal, 1, 0, NULL, 0));

    int self = syscall(SYS_pidfd_open, getpid(), 0);
    int dupd = syscall(SYS_pidfd_getfd, self, 1, 0);
    show("pidfd_getfd(self, stdout)", dupd >= 0 ? 0 : -1);
    show("write through it", write(dupd, "hello through pidfd_getfd\n", 26));
    show("pidfd_getfd(bad flags)", syscall(SYS_pidfd_getfd, self, 1, 1));
    show("pidfd_getfd(bad target fd)", syscall(SYS_pidfd_getfd, self, 99, 0));
    show("pidfd_open(bad flags)", syscall(SYS_pidfd_open, getpid(), 1));
    show("pidfd_open(0)", syscall(SYS_pidfd_open, 0, 0));
    show("pidfd_open(no such pid)", syscall(SYS_pidfd_open, 0x3ffffff0, 0));
    return 0;
}
