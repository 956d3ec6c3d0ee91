/* Huge and hostile sizes through the socket calls: msg_controllen of -1,
 * 2^62 and 1 GiB (over an untouched 1 GiB mapping), iovec counts and
 * lengths, optlen, namelen, vlen. Linux copies straight to and from user
 * memory, so it answers these at once and in little memory; each result
 * is printed and compared with the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define GIB (1UL << 30)

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%-34s = -1 %s\n", what, strerror(errno));
    else
        printf("%-34s = %ld\n", what, r);
}

static int pair(int type, int sv[2])
{
    if (socketpair(AF_UNIX, type, 0, sv) < 0) {
        perror("socketpair");
        return -1;
    }
    return 0;
}

/* Send "hi" with (when fd >= 0) one descriptor. */
static long send_fd(int s, int fd)
{
    char data[] = "hi";
    struct iovec iov = {data, 2};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        m.msg_control = u.buf;
        m.msg_controllen = sizeof u.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    return sendmsg(s, &m, 0);
}

static void recv_with(const char *what, int sv[2], int with_fd, void *control, size_t clen)
{
    char data[8];
    struct iovec iov = {data, sizeof data};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                       .msg_controllen = clen};
    send_fd(sv[0], with_fd ? 1 : -1);
    long r = recvmsg(sv[1], &m, MSG_DONTWAIT);
    show(what, r);
    if (r >= 0) {
        struct cmsghdr *c = m.msg_controllen ? (struct cmsghdr *)control : NULL;
        printf("  controllen %lu flags %#x", (unsigned long)m.msg_controllen, m.msg_flags);
        if (c && c->cmsg_type == SCM_RIGHTS) {
            int fd;
            memcpy(&fd, CMSG_DATA(c), sizeof fd);
            printf(" fd passed %s", fd > 2 ? "yes" : "no");
            close(fd);
        }
        printf("\n");
    }
}

static void send_with(const char *what, int s, void *control, size_t clen, struct iovec *iov,
                      size_t iovlen)
{
    char data[] = "x";
    struct iovec one = {data, 1};
    struct msghdr m = {.msg_iov = iov ? iov : &one, .msg_iovlen = iov ? iovlen : 1,
                       .msg_control = control, .msg_controllen = clen};
    show(what, sendmsg(s, &m, MSG_DONTWAIT));
}

static void drain(int s)
{
    char buf[4096];
    while (recv(s, buf, sizeof buf, MSG_DONTWAIT) > 0)
        ;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    char *big = mmap(NULL, GIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                     -1, 0);
    if (big == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    /* A page followed by a hole: the end of readable memory. */
    char *end = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(end + 4096, 4096);
    end += 4096;
    int dg[2], st[2];
    if (pair(SOCK_DGRAM, dg) || pair(SOCK_STREAM, st))
        return 1;
    char control[64];

    /* recvmsg: the control length is the caller's claim, never a size to allocate. */
    recv_with("recvmsg controllen -1, an fd", dg, 1, control, (size_t)-1);
    recv_with("recvmsg controllen -1, no fd", dg, 0, control, (size_t)-1);
    recv_with("recvmsg controllen 2^62|1GiB", dg, 1, control,
              sizeof(size_t) == 8 ? (size_t)1 << 62 : GIB);
    recv_with("recvmsg controllen 1 GiB mapped", dg, 1, big, GIB);
    recv_with("recvmsg controllen 0x7fffffff", dg, 1, big, 0x7fffffff);
    recv_with("recvmsg controllen 1, an fd", dg, 1, control, 1);
    {
        char data[8];
        struct iovec iov = {data, sizeof data};
        struct sockaddr_un sa;
        struct msghdr m = {.msg_name = &sa, .msg_namelen = (socklen_t)-1, .msg_iov = &iov,
                           .msg_iovlen = 1};
        send_fd(dg[0], -1);
        show("recvmsg namelen -1", recvmsg(dg[1], &m, MSG_DONTWAIT));
        m.msg_namelen = 1 << 30;
        show("recvmsg namelen 1 GiB", recvmsg(dg[1], &m, MSG_DONTWAIT));
        printf("  namelen %u\n", m.msg_namelen);
    }

    /* sendmsg: the control buffer is read only when the host would take it. */
    send_with("sendmsg controllen -1", dg[0], control, (size_t)-1, NULL, 0);
    send_with("sendmsg controllen 1 GiB (zeros)", dg[0], big, GIB, NULL, 0);
    send_with("sendmsg controllen 200000 (zeros)", dg[0], big, 200000, NULL, 0);
    send_with("sendmsg controllen 5", dg[0], control, 5, NULL, 0);
    send_with("sendmsg controllen 1 GiB, bad ptr", dg[0], (void *)16, GIB, NULL, 0);
    memset(control, 0, sizeof control);
    ((struct cmsghdr *)control)->cmsg_len = 1000;
    send_with("sendmsg cmsg_len past the buffer", dg[0], control, sizeof control, NULL, 0);
    drain(dg[1]);

    /* iovecs: counts and lengths. */
    static struct iovec many[1025];
    for (int i = 0; i < 1025; i++)
        many[i] = (struct iovec){"y", 1};
    send_with("sendmsg iovlen 1025", dg[0], NULL, 0, many, 1025);
    send_with("sendmsg iovlen 1024", dg[0], NULL, 0, many, 1024);
    drain(dg[1]);
    struct iovec neg = {"z", (size_t)-1};
    send_with("sendmsg iov_len -1", dg[0], NULL, 0, &neg, 1);
    struct iovec half = {"z", (size_t)1 << (sizeof(size_t) * 8 - 1)};
    send_with("sendmsg iov_len SSIZE_MAX+1", dg[0], NULL, 0, &half, 1);
    struct iovec huge = {big, GIB};
    send_with("sendmsg 1 GiB datagram", dg[0], NULL, 0, &huge, 1);
    send_with("sendmsg 1 GiB stream (nonblock)", st[0], NULL, 0, &huge, 1);
    drain(st[1]);
    show("sendto 1 GiB datagram", sendto(dg[0], big, GIB, MSG_DONTWAIT, NULL, 0));
    show("send 1 GiB stream (nonblock)", send(st[0], big, GIB, MSG_DONTWAIT));
    drain(st[1]);
    show("send len -1 stream", send(st[0], big, (size_t)-1, MSG_DONTWAIT));
    drain(st[1]);
    send_fd(dg[0], -1);
    show("recv 1 GiB into 1 GiB mapping", recv(dg[1], big, GIB, 0));
    send_fd(dg[0], -1);
    show("recv len -1", recv(dg[1], big, (size_t)-1, MSG_DONTWAIT));

    /* recvmmsg/sendmmsg: vlen is cut to UIO_MAXIOV. */
    static struct mmsghdr mm[4];
    struct iovec mi = {"m", 1};
    for (int i = 0; i < 4; i++)
        mm[i].msg_hdr = (struct msghdr){.msg_iov = &mi, .msg_iovlen = 1};
    show("sendmmsg vlen 0xffffffff (4 valid)", sendmmsg(dg[0], mm, 0xffffffffu, MSG_DONTWAIT));
    drain(dg[1]);

    /* Socket options: optlen is what the option reads or writes, at most. */
    int v = 65536;
    show("setsockopt SO_SNDBUF optlen 1 GiB", setsockopt(st[0], SOL_SOCKET, SO_SNDBUF, &v, GIB));
    show("setsockopt SO_SNDBUF optlen -1",
         setsockopt(st[0], SOL_SOCKET, SO_SNDBUF, &v, (socklen_t)-1));
    show("setsockopt optlen 1 GiB, bad ptr",
         setsockopt(st[0], SOL_SOCKET, SO_SNDBUF, (void *)16, GIB));
    show("setsockopt optlen 2 from the end",
         setsockopt(st[0], SOL_SOCKET, SO_SNDBUF, end - 2, 4));
    socklen_t len = GIB;
    show("getsockopt SO_TYPE optlen 1 GiB", getsockopt(st[0], SOL_SOCKET, SO_TYPE, &v, &len));
    printf("  type %d optlen %u\n", v, len);
    len = (socklen_t)-1;
    show("getsockopt optlen -1", getsockopt(st[0], SOL_SOCKET, SO_TYPE, &v, &len));
    len = 8;
    show("getsockopt 2 bytes before the end",
         getsockopt(st[0], SOL_SOCKET, SO_TYPE, end - 2, &len));
    len = 4;
    show("getsockopt into the 1 GiB mapping", getsockopt(st[0], SOL_SOCKET, SO_TYPE, big, &len));
    struct sockaddr_un sa;
    len = GIB;
    show("getsockname addrlen 1 GiB", getsockname(st[0], (struct sockaddr *)&sa, &len));
    printf("  addrlen %u\n", len);
    return 0;
}
