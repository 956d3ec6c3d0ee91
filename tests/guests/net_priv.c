/* Network configuration from a guest: netlink changes (link up, address
 * add) sent with sendto and with write, a netlink read (RTM_GETLINK dump),
 * raw and packet sockets, SIOCSIFFLAGS/SIOCGIFFLAGS, SIOCGIFCONF, SO_MARK
 * and SO_BINDTODEVICE. Each result is printed; run natively with and
 * without CAP_NET_ADMIN/CAP_NET_RAW the output is the oracle. Meant for a
 * network namespace of the test's own (unshare -n): it changes lo. */
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void result(const char *what, int r)
{
    if (r < 0)
        printf("%-28s = -1 %s\n", what, strerror(errno));
    else
        printf("%-28s = ok\n", what);
}

static int ack(int fd)
{
    char buf[4096];
    int n = recv(fd, buf, sizeof buf, 0);
    if (n < 0)
        return -1;
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    if (h->nlmsg_type != NLMSG_ERROR) {
        printf("  (not an ACK: type %d)\n", h->nlmsg_type);
        return 0;
    }
    struct nlmsgerr *e = NLMSG_DATA(h);
    if (e->error) {
        errno = -e->error;
        return -1;
    }
    return 0;
}

static int lo_index(void)
{
    return if_nametoindex("lo");
}

static int link_up(int fd, int use_write)
{
    struct {
        struct nlmsghdr h;
        struct ifinfomsg i;
    } m;
    memset(&m, 0, sizeof m);
    m.h.nlmsg_len = sizeof m;
    m.h.nlmsg_type = RTM_NEWLINK;
    m.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    m.h.nlmsg_seq = 1;
    m.i.ifi_family = AF_UNSPEC;
    m.i.ifi_index = lo_index();
    m.i.ifi_flags = IFF_UP;
    m.i.ifi_change = IFF_UP;
    struct sockaddr_nl to = {.nl_family = AF_NETLINK};
    int r = use_write ? write(fd, &m, sizeof m)
                      : sendto(fd, &m, sizeof m, 0, (struct sockaddr *)&to, sizeof to);
    if (r < 0)
        return r;
    return ack(fd);
}

static int addr_add(int fd)
{
    struct {
        struct nlmsghdr h;
        struct ifaddrmsg a;
        struct rtattr ra;
        struct in_addr ip;
        struct rtattr rb;
        struct in_addr ip2;
    } m;
    memset(&m, 0, sizeof m);
    m.h.nlmsg_len = sizeof m;
    m.h.nlmsg_type = RTM_NEWADDR;
    m.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    m.h.nlmsg_seq = 2;
    m.a.ifa_family = AF_INET;
    m.a.ifa_prefixlen = 8;
    m.a.ifa_scope = RT_SCOPE_HOST;
    m.a.ifa_index = lo_index();
    m.ra.rta_len = RTA_LENGTH(4);
    m.ra.rta_type = IFA_LOCAL;
    inet_pton(AF_INET, "127.0.0.2", &m.ip);
    m.rb.rta_len = RTA_LENGTH(4);
    m.rb.rta_type = IFA_ADDRESS;
    m.ip2 = m.ip;
    struct iovec iov = {&m, sizeof m};
    struct sockaddr_nl to = {.nl_family = AF_NETLINK};
    struct msghdr mh = {.msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov,
                        .msg_iovlen = 1};
    if (sendmsg(fd, &mh, 0) < 0)
        return -1;
    return ack(fd);
}

/* RTM_GETLINK dump: the names of the links, in order. */
static int dump_links(int fd)
{
    struct {
        struct nlmsghdr h;
        struct ifinfomsg i;
    } m;
    memset(&m, 0, sizeof m);
    m.h.nlmsg_len = sizeof m;
    m.h.nlmsg_type = RTM_GETLINK;
    m.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    m.h.nlmsg_seq = 3;
    if (send(fd, &m, sizeof m, 0) < 0)
        return -1;
    printf("links:");
    for (;;) {
        static char buf[32768];
        int n = recv(fd, buf, sizeof buf, 0);
        if (n < 0)
            return -1;
        for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE) {
                printf("\n");
                return 0;
            }
            if (h->nlmsg_type != RTM_NEWLINK)
                continue;
            struct ifinfomsg *ifi = NLMSG_DATA(h);
            int len = IFLA_PAYLOAD(h);
            for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
                if (a->rta_type == IFLA_IFNAME)
                    printf(" %s%s", (char *)RTA_DATA(a), ifi->ifi_flags & IFF_UP ? "(up)" : "");
        }
    }
}

static void show_lo(int s)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        result("SIOCGIFFLAGS lo", -1);
    else
        printf("lo flags: %s%s\n", ifr.ifr_flags & IFF_UP ? "UP " : "down ",
               ifr.ifr_flags & IFF_LOOPBACK ? "LOOPBACK" : "");
}

static void list_ifconf(int s)
{
    struct ifreq reqs[16];
    struct ifconf ifc = {.ifc_len = sizeof reqs, .ifc_req = reqs};
    if (ioctl(s, SIOCGIFCONF, &ifc) < 0) {
        result("SIOCGIFCONF", -1);
        return;
    }
    printf("ifconf (%d bytes each):", (int)sizeof(struct ifreq));
    for (int i = 0; i < ifc.ifc_len / (int)sizeof(struct ifreq); i++) {
        char ip[32];
        inet_ntop(AF_INET, &((struct sockaddr_in *)&reqs[i].ifr_addr)->sin_addr, ip, sizeof ip);
        printf(" %s=%s", reqs[i].ifr_name, ip);
    }
    printf("\n");
}

/* Connect to the abstract Unix socket name (a namespace of the network
 * namespace's own). */
static int abstract(const char *name)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int n = strlen(name);
    memcpy(sa.sun_path + 1, name, n);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    return connect(s, (struct sockaddr *)&sa, sizeof(sa.sun_family) + 1 + n);
}

int main(int argc, char **argv)
{
    int only_read = argc > 1 && !strcmp(argv[1], "read");
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 2 && !strcmp(argv[1], "abstract")) {
        result("connect to the abstract name", abstract(argv[2]));
        return 0;
    }
    int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    result("socket(NETLINK_ROUTE)", nl);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (dump_links(nl) < 0)
        result("RTM_GETLINK dump", -1);
    show_lo(s);
    if (only_read)
        return 0;
    result("RTM_NEWLINK lo up (write)", link_up(nl, 1));
    result("RTM_NEWLINK lo up (sendto)", link_up(nl, 0));
    result("RTM_NEWADDR 127.0.0.2/8", addr_add(nl));

    int raw = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    result("socket(AF_INET, SOCK_RAW)", raw);
    int pkt = socket(AF_PACKET, SOCK_RAW, htons(0x0003));
    result("socket(AF_PACKET, SOCK_RAW)", pkt);
    int dgp = socket(AF_PACKET, SOCK_DGRAM, htons(0x0003));
    result("socket(AF_PACKET, SOCK_DGRAM)", dgp);

    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    ioctl(s, SIOCGIFFLAGS, &ifr);
    ifr.ifr_flags &= ~IFF_UP;
    result("SIOCSIFFLAGS lo down", ioctl(s, SIOCSIFFLAGS, &ifr));
    show_lo(s);
    ifr.ifr_flags |= IFF_UP;
    result("SIOCSIFFLAGS lo up", ioctl(s, SIOCSIFFLAGS, &ifr));
    result("SIOCSIFMTU lo 1500", (ifr.ifr_mtu = 1500, ioctl(s, SIOCSIFMTU, &ifr)));
    ifr.ifr_mtu = 0;
    ioctl(s, SIOCGIFMTU, &ifr);
    printf("lo mtu %d\n", ifr.ifr_mtu);
    result("SIOCSIFFLAGS bad pointer", ioctl(s, SIOCSIFFLAGS, (void *)16));
    result("SIOCGIFFLAGS no such if", (strcpy(ifr.ifr_name, "nosuch0"),
                                       ioctl(s, SIOCGIFFLAGS, &ifr)));

    struct rtentry rt;
    memset(&rt, 0, sizeof rt);
    struct sockaddr_in *dst = (void *)&rt.rt_dst, *mask = (void *)&rt.rt_genmask;
    dst->sin_family = mask->sin_family = AF_INET;
    inet_pton(AF_INET, "10.9.8.0", &dst->sin_addr);
    inet_pton(AF_INET, "255.255.255.0", &mask->sin_addr);
    rt.rt_flags = RTF_UP;
    rt.rt_dev = "lo";
    result("SIOCADDRT 10.9.8.0/24 dev lo", ioctl(s, SIOCADDRT, &rt));
    rt.rt_dev = (char *)16;
    result("SIOCADDRT, bad device name", ioctl(s, SIOCADDRT, &rt));

    int mark = 7;
    result("SO_MARK", setsockopt(s, SOL_SOCKET, SO_MARK, &mark, sizeof mark));
    int big = 1 << 20;
    result("SO_RCVBUFFORCE", setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big));
    result("SO_BINDTODEVICE lo", setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3));
    result("SO_BINDTODEVICE again", setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3));

    if (dump_links(nl) < 0)
        result("RTM_GETLINK dump", -1);
    show_lo(s);
    list_ifconf(s);
    return 0;
}
