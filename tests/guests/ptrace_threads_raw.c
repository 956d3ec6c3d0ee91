/* Threads of a traced process, seen through raw ptrace: with
 * PTRACE_O_TRACECLONE the new thread is a tracee of its own (the leader's
 * PTRACE_EVENT_CLONE names it, it starts with SIGSTOP), waitpid reports
 * each thread's stops and end with its tid, requests name a tid;
 * PTRACE_EVENT_EXIT of each. Garbage: requests for tids that are not
 * tracees, PTRACE_GET_THREAD_AREA's bad entries and buffers. What happens
 * to each thread is printed per thread at the end (the two run at once). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef __WALL
#define __WALL 0x40000000
#endif

struct desc { int entry; unsigned base, limit, flags; };

static void *worker(void *arg)
{
    write(1, "worker\n", 7);
    return arg;
}

static int child(void)
{
    pthread_t t;
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    pthread_create(&t, NULL, worker, NULL);
    pthread_join(t, NULL);
    /* The tracer reaps the thread before exit_group: a thread reaped
     * after it reports the group's code (wait_task_zombie). */
    usleep(300000);
    return 7;
}

static void req(const char *what, long r)
{
    printf("%s: %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

static char logs[2][4096];

static void note(int who, const char *fmt, long a)
{
    char line[128];
    snprintf(line, sizeof line, fmt, a);
    strncat(logs[who], line, sizeof logs[who] - strlen(logs[who]) - 1);
    strncat(logs[who], "\n", sizeof logs[who] - strlen(logs[who]) - 1);
}

int main(void)
{
    int st;
    pid_t pid = fork();
    if (pid == 0)
        _exit(child());
    waitpid(pid, &st, 0);
    printf("first stop: %d\n", WIFSTOPPED(st) ? WSTOPSIG(st) : -1);
    req("setoptions", ptrace(PTRACE_SETOPTIONS, pid, 0,
                             PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXIT));
    struct desc d = {0};
    errno = 0;
    req("get_thread_area -1", ptrace(PTRACE_GET_THREAD_AREA, pid, (void *)-1L, &d));
    req("get_thread_area 11", ptrace(PTRACE_GET_THREAD_AREA, pid, (void *)11L, &d));
    req("get_thread_area 15", ptrace(PTRACE_GET_THREAD_AREA, pid, (void *)15L, &d));
    req("get_thread_area bad buffer", ptrace(PTRACE_GET_THREAD_AREA, pid, (void *)12L, (void *)8));
    req("get_thread_area 14", ptrace(PTRACE_GET_THREAD_AREA, pid, (void *)14L, &d));
    printf("entry %d base %#x limit %#x flags %#x\n", d.entry, d.base, d.limit, d.flags);
    req("getregs of pid 1", ptrace(PTRACE_GETREGS, 1, 0, 0));
    req("cont of own tid", ptrace(PTRACE_CONT, getpid(), 0, 0));
    req("cont", ptrace(PTRACE_CONT, pid, 0, 0));

    pid_t thread = 0;
    for (;;) {
        pid_t w = waitpid(-1, &st, __WALL);
        if (w < 0) {
            printf("waitpid: %s\n", strerror(errno));
            break;
        }
        int who = w == pid ? 0 : 1;
        if (w != pid && thread == 0)
            thread = w;
        if (w != pid && w != thread) {
            printf("unknown tid\n");
            break;
        }
        if (WIFEXITED(st)) {
            note(who, "exited %ld", WEXITSTATUS(st));
            if (w == pid)
                break;
            continue;
        }
        if (WIFSIGNALED(st)) {
            note(who, "killed by %ld", WTERMSIG(st));
            if (w == pid)
                break;
            continue;
        }
        int event = st >> 16;
        unsigned long msg = 0;
        ptrace(PTRACE_GETEVENTMSG, w, 0, &msg);
        if (event == PTRACE_EVENT_CLONE) {
            thread = msg;
            note(who, "clone event: tid is a thread of ours %ld",
                 syscall(SYS_tgkill, pid, thread, 0) == 0);
            errno = 0;
            /* the new thread is not stopped yet, or is at its SIGSTOP */
        } else if (event == PTRACE_EVENT_EXIT) {
            note(who, "exit event, status %#lx", msg);
        } else {
            note(who, "stopped by signal %ld", WSTOPSIG(st));
            if (w == thread) {
                struct user_regs_struct r;
                note(who, "getregs of the thread %ld", ptrace(PTRACE_GETREGS, w, 0, &r));
                siginfo_t si;
                ptrace(PTRACE_GETSIGINFO, w, 0, &si);
                note(who, "siginfo signo %ld", si.si_signo);
            }
        }
        int sig = WIFSTOPPED(st) && WSTOPSIG(st) != SIGTRAP && WSTOPSIG(st) != SIGSTOP
            ? WSTOPSIG(st) : 0;
        if (ptrace(PTRACE_CONT, w, 0, sig) < 0)
            note(who, "cont: %ld", -errno);
    }
    req("cont of the gone thread", ptrace(PTRACE_CONT, thread, 0, 0));
    printf("leader:\n%sthread:\n%s", logs[0], logs[1]);
    return 0;
}
