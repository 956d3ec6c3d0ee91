/* Threads meet processes: fork from a second thread (the child has that
   one thread only), execve from a thread that is not the leader (the others
   end, the program keeps the process's pid), and a robust mutex whose
   owner thread dies (the next locker gets EOWNERDEAD). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static char *self_path;

static void *forker(void *arg) {
    pid_t pid = fork();
    if (pid == 0) {
        printf("child: pid is tid %d\n", (int)syscall(SYS_gettid) == getpid());
        fflush(stdout);
        _exit(7);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("parent: child exited %d\n", WEXITSTATUS(status));
    return 0;
}

static void *spinner(void *arg) {
    for (;;)
        ;
}

static void *execer(void *arg) {
    char pid[32];
    snprintf(pid, sizeof pid, "%d", getpid());
    char *argv[] = {self_path, "after-exec", pid, 0};
    execv(self_path, argv);
    perror("execv");
    return 0;
}

static pthread_mutex_t robust;

static void *die_holding(void *arg) {
    pthread_mutex_lock(&robust);
    return 0;       /* ends holding it */
}

int main(int argc, char **argv) {
    self_path = argv[0];
    const char *mode = argc > 1 ? argv[1] : "fork";
    pthread_t t;
    if (!strcmp(mode, "after-exec")) {
        printf("exec'd: same pid %d\n", atoi(argv[2]) == getpid());
        printf("exec'd: tid is pid %d\n", (int)syscall(SYS_gettid) == getpid());
        return 5;
    }
    if (!strcmp(mode, "fork")) {
        pthread_create(&t, 0, forker, 0);
        pthread_join(t, 0);
        return 0;
    }
    if (!strcmp(mode, "exec")) {
        pthread_create(&t, 0, spinner, 0);
        pthread_create(&t, 0, execer, 0);
        for (;;)
            pause();
    }
    if (!strcmp(mode, "robust")) {
        pthread_mutexattr_t a;
        pthread_mutexattr_init(&a);
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
        pthread_mutex_init(&robust, &a);
        pthread_create(&t, 0, die_holding, 0);
        pthread_join(t, 0);
        int r = pthread_mutex_lock(&robust);
        printf("lock after owner died: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : strerror(r));
        pthread_mutex_consistent(&robust);
        pthread_mutex_unlock(&robust);
        printf("lock again: %d\n", pthread_mutex_lock(&robust));
        return 0;
    }
    return 1;
}
