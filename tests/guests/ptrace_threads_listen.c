/* PTRACE_LISTEN on one thread of a seized threaded process (its
 * group-stop after SIGSTOP) while another thread sits in a ptrace-stop
 * (its start trap): the tracer's requests to that other thread are still
 * answered, as natively; a listening thread must not keep the process's
 * other threads from answering. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef __WALL
#define __WALL 0x40000000
#endif
#define SEIZE 0x4206
#define LISTEN 0x4208
#define EVENT_STOP 128

static void *worker(void *arg)
{
    for (;;)
        pause();
    return arg;
}

static void show(const char *what, pid_t w, pid_t want, int st)
{
    printf("%s: %s, signal %d, event stop %d\n", what, w == want ? "stopped" : "other",
           WIFSTOPPED(st) ? WSTOPSIG(st) : -1, st >> 16 == EVENT_STOP);
}

int main(void)
{
    int st;
    pid_t thread = 0, started = 0;
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t;
        raise(SIGSTOP);
        pthread_create(&t, NULL, worker, NULL);
        pthread_join(t, NULL);
        _exit(0);
    }
    waitpid(pid, &st, WUNTRACED);
    ptrace(SEIZE, pid, 0, PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL);
    kill(pid, SIGCONT);
    /* The group-stop, the SIGCONT, the clone and the new thread's start
     * trap (before or after its clone event): the thread is left there. */
    for (int events = 0; !(thread && started == thread) && events < 12; events++) {
        pid_t w = waitpid(-1, &st, __WALL);
        if (w < 0)
            break;
        if (w == pid && st >> 16 == PTRACE_EVENT_CLONE) {
            unsigned long msg = 0;
            ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg);
            thread = msg;
        } else if (w != pid && st >> 16 == EVENT_STOP) {
            started = w;
            continue;
        }
        ptrace(PTRACE_CONT, w, 0, 0);
    }
    if (!thread || started != thread) {
        printf("no clone event or no start trap of the thread\n");
        return 1;
    }
    usleep(100000);     /* the main thread is in pthread_join by then */
    kill(pid, SIGSTOP);
    pid_t w = waitpid(pid, &st, __WALL);
    show("main thread", w, pid, st);
    ptrace(PTRACE_CONT, pid, 0, SIGSTOP);
    w = waitpid(pid, &st, __WALL);
    show("main thread", w, pid, st);
    printf("listen: %ld\n", ptrace(LISTEN, pid, 0, 0));
    usleep(100000);     /* listening by then */
    struct user_regs_struct r;
    printf("getregs of the stopped thread: %ld\n", ptrace(PTRACE_GETREGS, thread, 0, &r));
    printf("cont of the stopped thread: %ld\n", ptrace(PTRACE_CONT, thread, 0, 0));
    kill(pid, SIGKILL);
    while ((w = waitpid(-1, &st, __WALL)) > 0)
        if (w == pid && WIFSIGNALED(st))
            printf("killed by %d\n", WTERMSIG(st));
    return 0;
}
