/* Sockets: socketpair (stream and datagram), a named Unix socket bound by
 * a relative name and reached from a child, abstract names, the errors
 * (ENOENT, ECONNREFUSED, EADDRINUSE, ENOTSOCK, EBADF, EAGAIN, EPIPE with
 * and without SIGPIPE), a blocking recv interrupted by a timer, and TCP over
 * loopback. Run in an empty directory. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHOW(what, call) do { errno = 0; long r_ = (long)(call); \
    printf("%-36s = %ld %s\n", what, r_, r_ < 0 ? strerror(errno) : ""); } while (0)

static volatile int pipes, alarms;
static void on_pipe(int s) { (void)s; pipes++; }
static void on_alarm(int s) { (void)s; alarms++; }

static socklen_t unix_addr(struct sockaddr_un *a, const char *path, int abstract) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    if (abstract) {
        strcpy(a->sun_path + 1, path);
        return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(path);
    }
    strcpy(a->sun_path, path);
    return sizeof *a;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char buf[64];
    struct sockaddr_un a;
    socklen_t len;

    /* A stream pair. */
    int sv[2];
    SHOW("socketpair stream", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    SHOW("send", send(sv[0], "hello", 5, 0));
    memset(buf, 0, sizeof buf);
    SHOW("recv", recv(sv[1], buf, sizeof buf, 0));
    printf("  got %s\n", buf);
    len = sizeof a;
    SHOW("getsockname of an unnamed one", getsockname(sv[0], (struct sockaddr *)&a, &len));
    printf("  len %d family %d\n", len, a.sun_family);
    SHOW("recv MSG_DONTWAIT on empty", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
    SHOW("shutdown write side", shutdown(sv[0], SHUT_WR));
    SHOW("recv at end", recv(sv[1], buf, sizeof buf, 0));

    /* EPIPE: SIGPIPE, unless MSG_NOSIGNAL. */
    signal(SIGPIPE, on_pipe);
    close(sv[1]);
    SHOW("send to a closed peer", send(sv[0], "x", 1, 0));
    SHOW("again with MSG_NOSIGNAL", send(sv[0], "x", 1, MSG_NOSIGNAL));
    printf("  SIGPIPEs %d\n", pipes);
    close(sv[0]);

    /* A datagram pair keeps message boundaries. */
    SHOW("socketpair dgram", socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    send(sv[0], "one", 3, 0);
    send(sv[0], "three", 5, 0);
    SHOW("recv first datagram", recv(sv[1], buf, sizeof buf, 0));
    SHOW("recv second datagram", recv(sv[1], buf, sizeof buf, 0));

    /* A named socket, bound by a relative name. */
    int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    SHOW("bind sock", bind(srv, (struct sockaddr *)&a, unix_addr(&a, "sock", 0)));
    SHOW("bind it again", bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a,
                               unix_addr(&a, "sock", 0)));
    SHOW("listen", listen(srv, 4));
    len = sizeof a;
    memset(&a, 0, sizeof a);
    SHOW("getsockname", getsockname(srv, (struct sockaddr *)&a, &len));
    printf("  len %d path %s\n", len, a.sun_path);
    printf("  fcntl cloexec %d\n", fcntl(srv, F_GETFD));
    pid_t c = fork();
    if (c == 0) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un b;
        if (connect(s, (struct sockaddr *)&b, unix_addr(&b, "sock", 0)) == 0)
            send(s, "from the child", 14, 0);
        _exit(0);
    }
    len = sizeof a;
    int conn = accept(srv, (struct sockaddr *)&a, &len);
    printf("accept: %d, peer len %d\n", conn >= 0, len);
    memset(buf, 0, sizeof buf);
    recv(conn, buf, sizeof buf, MSG_WAITALL);
    printf("  got %s\n", buf);
    waitpid(c, NULL, 0);
    int cl = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("connect to nothing", connect(cl, (struct sockaddr *)&a, unix_addr(&a, "nothing", 0)));
    close(open("plain", O_CREAT | O_WRONLY, 0644));
    SHOW("connect to a plain file", connect(cl, (struct sockaddr *)&a, unix_addr(&a, "plain", 0)));

    /* An abstract name. */
    char name[64];
    snprintf(name, sizeof name, "sysgate-test-%d", getpid());
    int ab = socket(AF_UNIX, SOCK_DGRAM, 0);
    len = unix_addr(&a, name, 1);
    SHOW("bind abstract", bind(ab, (struct sockaddr *)&a, len));
    struct sockaddr_un got;
    socklen_t glen = sizeof got;
    getsockname(ab, (struct sockaddr *)&got, &glen);
    printf("  same name back %d\n", glen == len && !memcmp(&got, &a, len));

    /* Not sockets. */
    int p[2];
    pipe(p);
    SHOW("getpeername of a pipe", getpeername(p[0], (struct sockaddr *)&a, &len));
    SHOW("getsockname of fd 99", getsockname(99, (struct sockaddr *)&a, &len));
    SHOW("listen on a pipe", listen(p[0], 1));

    /* A blocking recv, interrupted: EINTR without SA_RESTART. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    SHOW("recv interrupted", recv(sv[1], buf, sizeof buf, 0));
    printf("  alarms %d\n", alarms);

    /* TCP over loopback. */
    int ts = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    SHOW("setsockopt SO_REUSEADDR", setsockopt(ts, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
    int v = 0;
    len = sizeof v;
    getsockopt(ts, SOL_SOCKET, SO_REUSEADDR, &v, &len);
    printf("  reads back %d (len %d)\n", v != 0, len);
    struct sockaddr_in in = {0};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    SHOW("bind 127.0.0.1:0", bind(ts, (struct sockaddr *)&in, sizeof in));
    len = sizeof in;
    getsockname(ts, (struct sockaddr *)&in, &len);
    printf("  a port was chosen %d\n", in.sin_port != 0);
    listen(ts, 1);
    int tc = socket(AF_INET, SOCK_STREAM, 0);
    SHOW("connect over loopback", connect(tc, (struct sockaddr *)&in, sizeof in));
    int ta = accept(ts, NULL, NULL);
    SHOW("sendto on TCP", sendto(tc, "tcp!", 4, 0, NULL, 0));
    struct sockaddr_in from;
    len = sizeof from;
    memset(buf, 0, sizeof buf);
    SHOW("recvfrom", recvfrom(ta, buf, sizeof buf, 0, (struct sockaddr *)&from, &len));
    printf("  got %s\n", buf);
    struct timeval tv = {1, 500000};
    SHOW("SO_RCVTIMEO", setsockopt(ta, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    memset(&tv, 0, sizeof tv);
    len = sizeof tv;
    getsockopt(ta, SOL_SOCKET, SO_RCVTIMEO, &tv, &len);
    printf("  reads back %ld.%06ld (len %d)\n", (long)tv.tv_sec, (long)tv.tv_usec, len);
    /* sendmsg/recvmsg: gathered and scattered data, and an fd passed to a
     * child (SCM_RIGHTS), which writes through it; a control buffer too
     * small for the fd gives MSG_CTRUNC. */
    int mp[2], fp[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, mp);
    pipe(fp);
    c = fork();
    if (c == 0) {
        char part1[4], part2[16] = {0};
        struct iovec riov[2] = {{part1, 4}, {part2, 15}};
        union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } ctl;
        struct msghdr m = {0};
        m.msg_iov = riov;
        m.msg_iovlen = 2;
        m.msg_control = ctl.b;
        m.msg_controllen = sizeof ctl.b;
        long n = recvmsg(mp[1], &m, 0);
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);
        int passed = -1;
        if (h && h->cmsg_type == SCM_RIGHTS)
            memcpy(&passed, CMSG_DATA(h), sizeof passed);
        char line[64];
        int k = snprintf(line, sizeof line, "child got %ld: %.4s|%s, an fd %d\n", n, part1, part2,
                         passed >= 0);
        write(passed, line, k);
        _exit(0);
    }
    struct iovec siov[2] = {{"gath", 4}, {"ered data", 9}};
    union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } sctl;
    memset(&sctl, 0, sizeof sctl);
    struct msghdr sm = {0};
    sm.msg_iov = siov;
    sm.msg_iovlen = 2;
    sm.msg_control = sctl.b;
    sm.msg_controllen = sizeof sctl.b;
    struct cmsghdr *sh = CMSG_FIRSTHDR(&sm);
    sh->cmsg_level = SOL_SOCKET;
    sh->cmsg_type = SCM_RIGHTS;
    sh->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(sh), &fp[1], sizeof(int));
    SHOW("sendmsg with an fd", sendmsg(mp[0], &sm, 0));
    waitpid(c, NULL, 0);
    close(fp[1]);
    memset(buf, 0, sizeof buf);
    read(fp[0], buf, sizeof buf - 1);
    printf("  through the passed fd: %s", buf);
    memcpy(CMSG_DATA(sh), &fp[0], sizeof(int));
    SHOW("sendmsg again", sendmsg(mp[0], &sm, 0));
    char tiny[4];
    struct iovec whole = {buf, sizeof buf};
    struct msghdr rm = {0};
    rm.msg_iov = &whole;
    rm.msg_iovlen = 1;
    rm.msg_control = tiny;
    rm.msg_controllen = sizeof tiny;
    SHOW("recvmsg, control too small", recvmsg(mp[1], &rm, 0));
    printf("  MSG_CTRUNC %d, controllen %ld\n", !!(rm.msg_flags & MSG_CTRUNC),
           (long)rm.msg_controllen);
    SHOW("sendmsg bad fd in SCM_RIGHTS", (memcpy(CMSG_DATA(sh), &(int){77}, sizeof(int)),
                                          sendmsg(mp[0], &sm, 0)));
    /* sendmmsg and recvmmsg: three datagrams out, as many in as there are
     * (MSG_WAITFORONE), each one's length in its msg_len. */
    int dg[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, dg);
    struct mmsghdr out3[3];
    struct iovec oiov[3] = {{"a", 1}, {"bb", 2}, {"ccc", 3}};
    memset(out3, 0, sizeof out3);
    for (int i = 0; i < 3; i++) {
        out3[i].msg_hdr.msg_iov = &oiov[i];
        out3[i].msg_hdr.msg_iovlen = 1;
    }
    SHOW("sendmmsg", sendmmsg(dg[0], out3, 3, 0));
    struct mmsghdr in4[4];
    char bufs[4][8];
    struct iovec iiov[4];
    memset(in4, 0, sizeof in4);
    for (int i = 0; i < 4; i++) {
        iiov[i].iov_base = bufs[i];
        iiov[i].iov_len = 8;
        in4[i].msg_hdr.msg_iov = &iiov[i];
        in4[i].msg_hdr.msg_iovlen = 1;
    }
    SHOW("recvmmsg MSG_WAITFORONE", recvmmsg(dg[1], in4, 4, MSG_WAITFORONE, NULL));
    printf("  lengths %u %u %u\n", in4[0].msg_len, in4[1].msg_len, in4[2].msg_len);
#ifdef SYS_socketcall
    /* i386's multiplexer, called directly: socketpair, send, recv. */
    unsigned long pa[4] = {AF_UNIX, SOCK_STREAM, 0, (unsigned long)sv};
    SHOW("socketcall(SOCKETPAIR)", syscall(SYS_socketcall, 8, pa));
    unsigned long sa4[4] = {sv[0], (unsigned long)"mux", 3, 0};
    SHOW("socketcall(SEND)", syscall(SYS_socketcall, 9, sa4));
    unsigned long ra[4] = {sv[1], (unsigned long)buf, sizeof buf, 0};
    SHOW("socketcall(RECV)", syscall(SYS_socketcall, 10, ra));
    SHOW("socketcall(99)", syscall(SYS_socketcall, 99, ra));
#endif
    return 0;
}
