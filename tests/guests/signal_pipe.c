/* SIGPIPE: a write to a pipe nobody reads fails with EPIPE and sends the
 * writer SIGPIPE (si_code SI_USER, from itself). Ignored, only the EPIPE;
 * caught, the handler runs first; with "die", the default action kills. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static volatile int got, code, from_me;
static void on_pipe(int s, siginfo_t *si, void *c) {
    (void)c;
    got = s;
    code = si->si_code;
    from_me = si->si_pid == getpid();
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int p[2];
    pipe(p);
    close(p[0]);
    if (argc > 1) {
        printf("writing with the default action\n");
        write(p[1], "x", 1);
        printf("survived\n");
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    errno = 0;
    int r = write(p[1], "x", 1);
    printf("ignored: write %d %s\n", r, strerror(errno));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_pipe;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGPIPE, &sa, NULL);
    r = write(p[1], "x", 1);
    printf("caught: write %d %s, signal %d code %d from me %d\n", r, strerror(errno), got,
           code, from_me);
    got = 0;
    struct iovec iov = {"yy", 2};
    r = writev(p[1], &iov, 1);
    printf("writev %d, signal %d\n", r, got);
    return 0;
}
