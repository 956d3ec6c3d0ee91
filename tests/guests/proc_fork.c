/* Processes: fork, pipes between parent and child, wait4 statuses (exit,
 * killed, stopped, continued), SIGCHLD with siginfo, wait4 interrupted by a
 * timer with and without SA_RESTART, vfork, execve. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t chld_code, chld_status, chld_match, alarms;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)uc;
    chld_code = si->si_code;
    chld_status = si->si_status;
    chld_match = si->si_pid > 0;
}

static void on_alarm(int sig) { (void)sig; alarms++; }

static void show(const char *what, int st)
{
    if (WIFEXITED(st))
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed by %d\n", what, WTERMSIG(st));
    else if (WIFSTOPPED(st))
        printf("%s: stopped by %d\n", what, WSTOPSIG(st));
    else if (WIFCONTINUED(st))
        printf("%s: continued\n", what);
}

static void alarm_in_ms(int ms)
{
    struct itimerval it = { { 0, 0 }, { ms / 1000, (ms % 1000) * 1000 } };
    setitimer(ITIMER_REAL, &it, 0);
}

static int wait_interrupted(int flags)
{
    struct sigaction sa = { 0 };
    sa.sa_handler = on_alarm;
    sa.sa_flags = flags;
    sigaction(SIGALRM, &sa, 0);
    pid_t c = fork();
    if (c == 0) {
        usleep(300 * 1000);
        _exit(3);
    }
    alarm_in_ms(50);
    int st = 0;
    pid_t r = waitpid(c, &st, 0);
    int err = errno;
    if (r < 0) {
        printf("waitpid: %s, alarms %d\n", strerror(err), alarms);
        r = waitpid(c, &st, 0);
    }
    printf("waitpid returned the child: %d, alarms %d\n", r == c, alarms);
    show("child", st);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "exec-target")) {
        printf("exec'd with %s %s\n", argv[2], getenv("PROC_FORK") ? getenv("PROC_FORK") : "-");
        return 9;
    }
    setvbuf(stdout, 0, _IONBF, 0);

    /* A pipe from child to parent. */
    int p[2];
    pipe(p);
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        const char msg[] = "hello from the child";
        write(p[1], msg, sizeof msg);
        _exit(7);
    }
    close(p[1]);
    char buf[64] = { 0 };
    ssize_t n = read(p[0], buf, sizeof buf);
    int st;
    pid_t w = waitpid(c, &st, 0);
    printf("parent read %zd: %s; waited the child: %d\n", n, buf, w == c);
    show("pipe child", st);
    close(p[0]);

    /* Children that die: by exit, by signal, by a fault. */
    c = fork();
    if (c == 0)
        abort();
    waitpid(c, &st, 0);
    show("abort child", st);
    c = fork();
    if (c == 0)
        *(volatile int *)8 = 1;
    waitpid(c, &st, 0);
    show("segv child", st);

    /* A parent kills a child that computes forever. */
    c = fork();
    if (c == 0)
        for (volatile unsigned long i = 0;; i++)
            ;
    usleep(20 * 1000);
    kill(c, SIGTERM);
    waitpid(c, &st, 0);
    show("spinning child", st);

    /* A child that blocks in pause() and gets a signal it handles. */
    int q[2];
    pipe(q);
    c = fork();
    if (c == 0) {
        sigset_t usr1, none;
        sigemptyset(&usr1);
        sigemptyset(&none);
        sigaddset(&usr1, SIGUSR1);
        signal(SIGUSR1, on_alarm);
        sigprocmask(SIG_BLOCK, &usr1, 0);
        write(q[1], "r", 1);
        sigsuspend(&none);
        _exit(alarms == 1 ? 11 : 12);
    }
    read(q[0], buf, 1);
    kill(c, SIGUSR1);
    waitpid(c, &st, 0);
    show("suspended child", st);

    /* Stop and continue. */
    c = fork();
    if (c == 0) {
        write(q[1], "r", 1);
        for (;;)
            pause();
    }
    read(q[0], buf, 1);
    kill(c, SIGSTOP);
    waitpid(c, &st, WUNTRACED);
    show("stop", st);
    kill(c, SIGCONT);
    waitpid(c, &st, WCONTINUED);
    show("cont", st);
    kill(c, SIGKILL);
    waitpid(c, &st, 0);
    show("killed", st);

    /* A child stops itself with SIGTSTP (default action: stop). */
    c = fork();
    if (c == 0) {
        raise(SIGTSTP);
        _exit(4);
    }
    waitpid(c, &st, WUNTRACED);
    show("tstp", st);
    kill(c, SIGCONT);
    waitpid(c, &st, 0);
    show("after tstp", st);

    /* SIGCHLD with siginfo. */
    struct sigaction sa = { 0 };
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGCHLD, &sa, 0);
    c = fork();
    if (c == 0)
        _exit(42);
    waitpid(c, &st, 0);
    while (!chld_code)
        usleep(1000);
    printf("SIGCHLD: code %d (CLD_EXITED %d) status %d pid set %d\n", chld_code, CLD_EXITED,
           chld_status, chld_match);
    signal(SIGCHLD, SIG_DFL);

    /* waitid and WNOHANG. */
    c = fork();
    if (c == 0) {
        usleep(100 * 1000);
        _exit(5);
    }
    printf("WNOHANG: %d\n", waitpid(c, &st, WNOHANG));
    siginfo_t si = { 0 };
    waitid(P_PID, c, &si, WEXITED);
    printf("waitid: signo %d code %d status %d pid match %d\n", si.si_signo, si.si_code,
           si.si_status, si.si_pid == c);
    pid_t none = waitpid(-1, &st, 0);
    printf("no children: %d %s\n", none, strerror(errno));

    /* wait interrupted by a timer: restarted with SA_RESTART, EINTR without. */
    wait_interrupted(SA_RESTART);
    alarms = 0;
    wait_interrupted(0);

    /* vfork + execve, and a plain fork + execve. */
    fflush(stdout);
    c = vfork();
    if (c == 0) {
        char *args[] = { argv[0], "exec-target", "vfork", 0 };
        char *env[] = { "PROC_FORK=yes", 0 };
        execve(argv[0], args, env);
        _exit(127);
    }
    waitpid(c, &st, 0);
    show("vfork+exec", st);
    c = fork();
    if (c == 0) {
        char *args[] = { argv[0], "exec-target", "fork", 0 };
        execv(argv[0], args);
        _exit(127);
    }
    waitpid(c, &st, 0);
    show("fork+exec", st);
    c = fork();
    if (c == 0) {
        char *args[] = { "/nonexistent/x", 0 };
        execv(args[0], args);
        printf("execv failed: %s\n", strerror(errno));
        _exit(1);
    }
    waitpid(c, &st, 0);
    return 0;
}
