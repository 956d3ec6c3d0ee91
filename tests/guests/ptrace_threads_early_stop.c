/* A thread of a traced process stops (a signal-delivery-stop) before its
 * tracer has made any wait or ptrace call: the other threads run on
 * meanwhile, as on Linux, where only the stopping thread waits. Here the
 * tracer waits for another thread's word on a pipe before its first
 * waitpid; a stopped thread that kept the others from running would
 * leave both processes waiting for ever. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static int fds[2];

static void *writer(void *arg)
{
    usleep(100000);     /* the main thread is in its stop by then */
    write(fds[1], "x", 1);
    return arg;
}

static void on_usr1(int sig)
{
    (void)sig;
}

int main(void)
{
    char c = 0;
    int st;
    pipe(fds);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t;
        signal(SIGUSR1, on_usr1);
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        pthread_create(&t, NULL, writer, NULL);
        raise(SIGUSR1);     /* a stop for the tracer, which is not waiting yet */
        pthread_join(t, NULL);
        _exit(0);
    }
    if (read(fds[0], &c, 1) == 1)
        printf("the other thread wrote %c\n", c);
    fflush(stdout);
    waitpid(pid, &st, 0);
    printf("stopped by signal %d\n", WIFSTOPPED(st) ? WSTOPSIG(st) : -1);
    ptrace(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &st, 0);
    printf("exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
}
