/* SA_RESETHAND puts the handler back to SIG_DFL when the signal is
 * delivered and leaves the flags and mask as they were (LTP sigaction01). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
static void h(int s, siginfo_t *i, void *u) { (void)s; (void)i; (void)u; }
int main(void) {
    struct sigaction sa = {0}, old;
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
    sigaddset(&sa.sa_mask, SIGUSR2);
    sigaction(SIGUSR1, &sa, 0);
    raise(SIGUSR1);
    sigaction(SIGUSR1, 0, &old);
    printf("handler default %d, SA_SIGINFO %d, SA_RESETHAND %d, mask has USR2 %d\n",
           old.sa_handler == SIG_DFL, !!(old.sa_flags & SA_SIGINFO),
           !!(old.sa_flags & SA_RESETHAND), sigismember(&old.sa_mask, SIGUSR2));
    return 0;
}
