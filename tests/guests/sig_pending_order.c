/* Several signals pending when a system call unblocks them: Linux builds
   every frame before returning to user mode, the lowest-numbered signal's
   first, so the highest one's handler runs first; a handler whose
   sa_mask blocks another signal makes that one wait for its return. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void h(int s)
{
    char b[32];
    int n = snprintf(b, sizeof b, "  handler %d\n", s);
    write(1, b, n);
}

static void hv(int s, siginfo_t *si, void *uc)
{
    (void)uc;
    char b[48];
    int n = snprintf(b, sizeof b, "  handler %d value %d code %d\n", s, si->si_value.sival_int,
                     si->si_code);
    write(1, b, n);
}

static void on_value(int sig, int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = hv;
    sa.sa_flags = SA_SIGINFO | flags;
    sigaction(sig, &sa, 0);
}

/* Three sigqueue values of one realtime signal, sent while it is blocked
   (by this process or, with from_child, by another). */
static void queued(const char *what, int sig, int flags, int from_child)
{
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, sig);
    sigprocmask(SIG_BLOCK, &m, 0);
    on_value(sig, flags);
    if (from_child) {
        pid_t parent = getpid();
        pid_t c = fork();
        if (c == 0) {
            for (int i = 1; i <= 3; i++)
                sigqueue(parent, sig, (union sigval){.sival_int = i * 10});
            _exit(0);
        }
        waitpid(c, 0, 0);
        /* each arrives through the host; wait until all three are pending
           here (a pending set cannot count them: let them all land) */
        usleep(100000);
    } else {
        for (int i = 1; i <= 3; i++)
            sigqueue(getpid(), sig, (union sigval){.sival_int = i});
    }
    printf("%s:\n", what);
    fflush(stdout);
    sigprocmask(SIG_UNBLOCK, &m, 0);
    write(1, "  back in main\n", 15);
}

static void on(int sig, int also_block)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    if (also_block)
        sigaddset(&sa.sa_mask, also_block);
    sigaction(sig, &sa, 0);
}

static void round_(const char *what, const int *sigs, int n)
{
    sigset_t m;
    sigemptyset(&m);
    for (int i = 0; i < n; i++)
        sigaddset(&m, sigs[i]);
    sigprocmask(SIG_BLOCK, &m, 0);
    for (int i = 0; i < n; i++)
        raise(sigs[i]);
    printf("%s:\n", what);
    fflush(stdout);
    sigprocmask(SIG_UNBLOCK, &m, 0);
    write(1, "  back in main\n", 15);
}

int main(void)
{
    int three[] = {SIGUSR2, SIGUSR1, SIGRTMIN};
    on(SIGUSR1, 0);
    on(SIGUSR2, 0);
    on(SIGRTMIN, 0);
    round_("three at once", three, 3);

    on(SIGUSR1, SIGUSR2);       /* USR2 waits for USR1's handler to return */
    round_("USR1 blocking USR2", three, 3);

    int rt[] = {SIGRTMIN + 2, SIGRTMIN + 1, SIGRTMIN + 2};
    on(SIGRTMIN + 1, 0);
    on(SIGRTMIN + 2, 0);
    round_("realtime, one queued twice", rt, 3);

    queued("sigqueue x3", SIGRTMIN + 3, 0, 0);
    queued("sigqueue x3, SA_NODEFER", SIGRTMIN + 4, SA_NODEFER, 0);
    queued("sigqueue x3 from another process", SIGRTMIN + 5, 0, 1);
    return 0;
}
