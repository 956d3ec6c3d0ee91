/* Unix-domain socket names under --root: every way to reach a socket
 * outside the root (its host path, climbing, symlinks to it) must fail,
 * and names bound land inside the root.
 * argv[1]: host path of a listening socket outside the root */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void try_connect(const char *what, const char *path) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {0};
    a.sun_family = AF_UNIX;
    strncpy(a.sun_path, path, sizeof a.sun_path - 1);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        printf("%s: refused (%s)\n", what, strerror(errno));
    } else {
        char buf[64] = {0};
        read(s, buf, sizeof buf - 1);
        printf("%s: CONNECTED, read '%s'\n", what, buf);
    }
    close(s);
}

static void try_bind(const char *what, const char *path) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {0};
    a.sun_family = AF_UNIX;
    strncpy(a.sun_path, path, sizeof a.sun_path - 1);
    printf("%s: %s\n", what, bind(s, (struct sockaddr *)&a, sizeof a) ? strerror(errno) : "bound");
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    char p[256];
    try_connect("host path", argv[1]);
    snprintf(p, sizeof p, "/../../../..%s", argv[1]);
    try_connect("climbing from /", p);
    snprintf(p, sizeof p, "../../../../../../..%s", argv[1]);
    try_connect("climbing from the cwd", p);
    try_connect("absolute symlink", "/abs_sock");
    try_connect("relative symlink", "/sub/rel_sock");
    try_bind("bind /made.sock", "/made.sock");
    try_bind("bind ../up.sock", "../up.sock");
    try_bind("bind through a symlinked dir", "/up_link/linked.sock");
    try_connect("own socket inside", "/made.sock");
    return 0;
}
