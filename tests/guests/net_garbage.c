/* Socket calls with bad arguments: the errors Linux gives, no traceback. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#define SHOW(what, call) do { errno = 0; long r_ = (long)(call); printf("%-30s = %ld %s\n", what, r_, r_ < 0 ? strerror(errno) : ""); } while (0)
int main(void) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {AF_UNIX, ""};
    SHOW("bind len 1", bind(s, (struct sockaddr *)&a, 1));
    SHOW("bind len 0", bind(s, (struct sockaddr *)&a, 0));
    SHOW("bind len 2", bind(s, (struct sockaddr *)&a, 2));
    SHOW("bind len 999", bind(s, (struct sockaddr *)&a, 999));
    SHOW("connect bad ptr", connect(s, (struct sockaddr *)8, 16));
    SHOW("socket bad family", socket(12345, SOCK_STREAM, 0));
    SHOW("socket bad type", socket(AF_UNIX, 99, 0));
    SHOW("accept on unlistened", accept(s, NULL, NULL));
    SHOW("getsockopt bad len ptr", getsockopt(s, SOL_SOCKET, SO_TYPE, &a, (socklen_t *)8));
    SHOW("recvmsg bad msg", recvmsg(s, (struct msghdr *)8, 0));
    SHOW("sendmsg bad msg", sendmsg(s, (struct msghdr *)8, 0));
    SHOW("socketpair bad ptr", socketpair(AF_UNIX, SOCK_STREAM, 0, (int *)8));
    SHOW("sendto unconnected", sendto(s, "x", 1, 0, NULL, 0));
    SHOW("shutdown bad how", shutdown(s, 7));
    SHOW("listen on unbound", listen(s, 1));
    return 0;
}
