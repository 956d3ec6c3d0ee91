/* A tracer that is not the tracee's parent (a sibling that seized it)
 * waits for the tracee, whose main thread ends first (pthread_exit) and
 * whose other thread then ends the group with exit(3): the tracer's
 * waitpid reports the leader's end with the group's status, exited 3, as
 * natively (the real parent's wait says the same). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef __WALL
#define __WALL 0x40000000
#endif
#define SEIZE 0x4206

static void *last(void *arg)
{
    usleep(200000);     /* the main thread has ended by then */
    exit(3);
    return arg;
}

static void status(const char *who, int st)
{
    if (WIFEXITED(st))
        printf("%s: exited %d\n", who, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed by %d\n", who, WTERMSIG(st));
    else
        printf("%s: status %#x\n", who, st);
    fflush(stdout);
}

int main(void)
{
    int go[2], st = 0;
    pipe(go);
    pid_t tracee = fork();
    if (tracee == 0) {
        pthread_t t;
        char c;
        read(go[0], &c, 1);         /* seized by then */
        pthread_create(&t, NULL, last, NULL);
        pthread_exit(NULL);
    }
    pid_t tracer = fork();
    if (tracer == 0) {
        printf("seize: %ld\n", ptrace(SEIZE, tracee, 0, 0));
        fflush(stdout);
        write(go[1], "g", 1);
        if (waitpid(tracee, &st, __WALL) != tracee)
            printf("tracer: no wait\n");
        status("tracer", st);
        _exit(0);
    }
    waitpid(tracer, &st, 0);
    waitpid(tracee, &st, 0);
    status("parent", st);
    return 0;
}
