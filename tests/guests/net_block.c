/* Socket calls that block in the host itself: a send larger than the
 * peer's buffer, a connect to a Unix listener whose backlog is full. An
 * alarm's handler (no SA_RESTART) must end each as Linux ends it: the
 * partial count, or EINTR. With "-" as argv[1] no handler is installed, for
 * the test that ends sysgate with SIGTERM while it blocks. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void on_alarm(int s) { (void)s; }

int main(int argc, char **argv) {
    int handler = !(argc > 1 && argv[1][0] == '-');
    const char *mode = argc > 2 ? argv[2] : "send";
    if (handler) {
        struct sigaction sa = {.sa_handler = on_alarm};
        sigaction(SIGALRM, &sa, 0);
    }
    if (!strcmp(mode, "send")) {
        int sv[2];
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
        int sz = 65536;
        setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
        size_t n = 8 << 20;
        char *buf = calloc(1, n);
        if (handler)
            alarm(1);
        else {
            printf("ready\n");
            fflush(stdout);
        }
        ssize_t r = send(sv[0], buf, n, 0);
        printf("send 8 MiB: %s (errno %d)\n", r > 0 && r < (ssize_t)n ? "partial" : "not partial",
               r < 0 ? errno : 0);
    } else {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof a.sun_path, "/tmp/sysgate-backlog-%d", getpid());
        int l = socket(AF_UNIX, SOCK_STREAM, 0);
        unlink(a.sun_path);
        bind(l, (struct sockaddr *)&a, sizeof a);
        listen(l, 0);
        int filled = 0;
        for (int i = 0; i < 8; i++) {
            int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
            if (connect(c, (struct sockaddr *)&a, sizeof a) == 0)
                filled++;
        }
        printf("backlog filled: %d\n", filled > 0);
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        if (handler)
            alarm(1);
        else {
            printf("ready\n");
            fflush(stdout);
        }
        int r = connect(c, (struct sockaddr *)&a, sizeof a);
        printf("blocking connect: %d errno %d\n", r, r < 0 ? errno : 0);
        unlink(a.sun_path);
    }
    return 0;
}
