/* rt_sigreturn restores the alternate stack from the frame's uc_stack
 * (restore_altstack): a handler's own sigaltstack call is undone on
 * return, and a frame edited to say SS_DISABLE disables it. The old i386
 * frame has no uc_stack: nothing is restored through it. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

static char a1[65536], a2[65536];

static void replace(int sig)
{
    (void)sig;
    stack_t ss = {.ss_sp = a2, .ss_size = sizeof a2};
    sigaltstack(&ss, NULL);
}

static void edit(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)si;
    ((ucontext_t *)ctx)->uc_stack.ss_flags = SS_DISABLE;
}

static void show(const char *when)
{
    stack_t cur;
    sigaltstack(NULL, &cur);
    printf("%s: %s flags %d size %zu\n", when,
           cur.ss_sp == a1 ? "a1" : cur.ss_sp == a2 ? "a2" : "none", cur.ss_flags, cur.ss_size);
}

int main(void)
{
    stack_t ss = {.ss_sp = a1, .ss_size = sizeof a1};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = replace;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    show("old-style handler replaced it");
    sa.sa_handler = replace;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    stack_t back = {.ss_sp = a1, .ss_size = sizeof a1};
    sigaltstack(&back, NULL);
    raise(SIGUSR1);
    show("rt handler replaced it");
    sa.sa_sigaction = edit;
    sigaction(SIGUSR2, &sa, NULL);
    raise(SIGUSR2);
    show("frame edited to SS_DISABLE");
    return 0;
}
