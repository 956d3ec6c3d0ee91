/* unshare: what a single-threaded process shares with nobody is a no-op
 * (0), an unknown flag EINVAL, CLONE_VM/SIGHAND/THREAD EINVAL once the
 * process has a second thread. With an argument "ns": new namespaces
 * (Linux gives them to root; sysgate's guest holds no CAP_SYS_ADMIN). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void try(const char *name, long flags)
{
    int r = unshare(flags);
    printf("unshare(%s) = %d errno %d\n", name, r, r ? errno : 0);
}

static void *idle(void *arg)
{
    pause();
    return arg;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        try("CLONE_NEWTIME", CLONE_NEWTIME);
        try("CLONE_NEWNS", CLONE_NEWNS);
        try("CLONE_NEWUSER", CLONE_NEWUSER);
        return 0;
    }
    try("0", 0);
    try("CLONE_FILES", CLONE_FILES);
    try("CLONE_FS", CLONE_FS);
    try("CLONE_SYSVSEM", CLONE_SYSVSEM);
    try("CLONE_VM", CLONE_VM);
    try("CLONE_SIGHAND", CLONE_SIGHAND);
    try("CLONE_THREAD", CLONE_THREAD);
    try("CLONE_VFORK", CLONE_VFORK);
    try("CLONE_PARENT", CLONE_PARENT);
    try("CLONE_PIDFD", CLONE_PIDFD);
    try("-1", -1L);
    pthread_t th;
    pthread_create(&th, NULL, idle, NULL);
    printf("with a second thread:\n");
    try("CLONE_VM", CLONE_VM);
    try("CLONE_SIGHAND", CLONE_SIGHAND);
    try("CLONE_THREAD", CLONE_THREAD);
    try("CLONE_NEWUSER", CLONE_NEWUSER);     /* implies CLONE_THREAD */
    try("0", 0);
    return 0;
}
