/* Process groups, sessions and credentials: setpgid/getpgid on self and a
 * child, setsid in a child (a new session) and in a group leader (EPERM),
 * the supplementary groups and the saved ids, through both ABIs' calls
 * (the 16-bit ones on i386 included). Printed relative to the pids. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHOW(what, call) do { errno = 0; long r_ = (long)(call); \
    printf("%s: %ld %s\n", what, r_, r_ < 0 ? strerror(errno) : ""); } while (0)

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t me = getpid();
    SHOW("setpgid(0, 0)", setpgid(0, 0));
    printf("leader of my group: %d, session unchanged: %d\n", getpgid(0) == me,
           getsid(0) == getsid(getppid()));
    SHOW("setsid as a group leader", setsid());
    SHOW("setpgid bad pgid", setpgid(0, -1));
    int p[2];
    pipe(p);
    pid_t c = fork();
    if (c == 0) {
        char go;
        read(p[0], &go, 1);
        pid_t s = setsid();
        int mine = s == getpid(), group = getpgid(0) == getpid();
        printf("child: setsid gave my pid %d, new group %d\n", mine, group);
        _exit(0);
    }
    printf("child in my group: %d\n", getpgid(c) == me);
    SHOW("child moved to its own group", setpgid(c, c));
    printf("now its own: %d\n", getpgid(c) == c);
    write(p[1], "g", 1);
    int st;
    waitpid(c, &st, 0);
    SHOW("getpgid of nobody", getpgid(0x3ffffff0));
    SHOW("setpgid of a non-child", setpgid(getppid(), 0));
    int n = getgroups(0, NULL);
    gid_t g[256];
    printf("groups: %d, all read %d\n", n > 0 || n == 0, getgroups(256, g) == n);
    if (n > 1)
        SHOW("short buffer", getgroups(n - 1, g));
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    printf("resuid match: %d\n", r == getuid() && e == geteuid() && s == geteuid());
    gid_t gr, ge, gs;
    getresgid(&gr, &ge, &gs);
    printf("resgid match: %d\n", gr == getgid() && ge == getegid());
#ifdef SYS_getresuid32
    /* i386's 16-bit originals */
    unsigned short r16[3] = {1, 1, 1};
    long rr = syscall(165, &r16[0], &r16[1], &r16[2]);
    printf("16-bit getresuid: %ld, %d %d %d\n", rr, r16[0] == (getuid() & 0xffff),
           r16[1] == (geteuid() & 0xffff), r16[2] == (geteuid() & 0xffff));
    unsigned short g16[256];
    printf("16-bit getgroups: %d\n", (int)syscall(80, 256, g16) == n);
#endif
    return 0;
}
