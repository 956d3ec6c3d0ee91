/* A program that drops root, then makes calls whose handlers sysgate imports
 * at their first use (ptrace's among them): once the host process is
 * nobody, a root-only Python (a root's /root/.pyenv) is out of its reach, so
 * sysgate must have imported them before the identity changed. */
#include <errno.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    int g = setgid(65534), u = setuid(65534);
    printf("setgid %d setuid %d uid %d euid %d\n", g, u, (int)getuid(), (int)geteuid());
    long r = ptrace(PTRACE_ATTACH, getpid(), 0, 0);      /* oneself: EPERM */
    printf("attach to self %ld %d\n", r, r ? errno : 0);
    r = ptrace(PTRACE_TRACEME, 0, 0, 0);
    printf("traceme %ld %d\n", r, r ? errno : 0);
    int sv[2];
    printf("socketpair %d\n", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    return 0;
}
