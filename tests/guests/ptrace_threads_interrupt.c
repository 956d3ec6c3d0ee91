/* PTRACE_INTERRUPT of each thread of a seized threaded process while
 * both are blocked in system calls (the main thread in pthread_join, the
 * other in a read of an empty pipe): each traps into PTRACE_EVENT_STOP
 * at once, its call interrupted (it is restarted when the thread goes on),
 * as Linux's signal_wake_up makes it. Done several times: which thread
 * of the process takes the tracer's note in first must not matter. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef __WALL
#define __WALL 0x40000000
#endif
#define SEIZE 0x4206
#define INTERRUPT 0x4207
#define EVENT_STOP 128
#define ROUNDS 6

static int fds[2];

static void *reader(void *arg)
{
    char c;
    read(fds[0], &c, 1);        /* data comes only at the end */
    return arg;
}

static void trap(pid_t tid, const char *who)
{
    int st = 0;
    pid_t w = waitpid(tid, &st, __WALL);
    printf("%s: %s, event stop %d\n", who, w == tid ? "stopped" : "no stop",
           WIFSTOPPED(st) && st >> 16 == EVENT_STOP);
}

int main(void)
{
    int st;
    pid_t thread = 0;
    pipe(fds);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t;
        raise(SIGSTOP);
        pthread_create(&t, NULL, reader, NULL);
        pthread_join(t, NULL);
        _exit(0);
    }
    waitpid(pid, &st, WUNTRACED);
    ptrace(SEIZE, pid, 0, PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL);    /* a failure ends both */
    kill(pid, SIGCONT);
    /* SIGSTOP's group-stop, the SIGCONT's delivery, the clone, and the
     * new thread's own start trap (before or after its clone event). */
    pid_t started = 0;
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
        }
        ptrace(PTRACE_CONT, w, 0, 0);
    }
    if (!thread || started != thread) {
        printf("no clone event or no start trap of the thread\n");
        return 1;
    }
    for (int i = 0; i < ROUNDS; i++) {
        usleep(100000);     /* both blocked by then */
        pid_t first = i % 2 ? pid : thread, second = i % 2 ? thread : pid;
        printf("interrupt: %ld\n", ptrace(INTERRUPT, first, 0, 0));
        trap(first, first == pid ? "main thread" : "reader");
        printf("interrupt: %ld\n", ptrace(INTERRUPT, second, 0, 0));
        trap(second, second == pid ? "main thread" : "reader");
        ptrace(PTRACE_CONT, first, 0, 0);
        ptrace(PTRACE_CONT, second, 0, 0);
    }
    write(fds[1], "x", 1);
    for (;;) {
        pid_t w = waitpid(-1, &st, __WALL);
        if (w < 0)
            break;
        if (WIFEXITED(st) && w == pid) {
            printf("exited %d\n", WEXITSTATUS(st));
            break;
        }
        if (WIFSTOPPED(st))
            ptrace(PTRACE_CONT, w, 0, 0);
    }
    return 0;
}
