/* System V message queues between a parent and its forked child: send,
 * receive by type, the errors (EINVAL, EFAULT, E2BIG, ENOMSG, EIDRM),
 * IPC_STAT / IPC_SET / IPC_INFO, and blocked calls ended by a signal
 * (EINTR even with SA_RESTART: msgrcv and msgsnd are never restarted
 * after a handler). Every queue made is removed. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

struct m { long mtype; char text[64]; };
#ifdef __GLIBC__
#define KEY(p) (p).__key
#else
#define KEY(p) (p).__ipc_perm_key
#endif

static const char *errname(int e)
{
    static const struct { int e; const char *name; } names[] = {
        {EINVAL, "EINVAL"}, {EFAULT, "EFAULT"}, {E2BIG, "E2BIG"}, {ENOMSG, "ENOMSG"},
        {EIDRM, "EIDRM"}, {EAGAIN, "EAGAIN"}, {EINTR, "EINTR"}, {EACCES, "EACCES"},
        {EPERM, "EPERM"}, {ENOENT, "ENOENT"}, {EEXIST, "EEXIST"}, {ERANGE, "ERANGE"},
        {EFBIG, "EFBIG"}, {ENOMEM, "ENOMEM"}, {ENOSYS, "ENOSYS"}, {ENOSPC, "ENOSPC"},
    };
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].e == e)
            return names[i].name;
    return "E?";
}

static void report(const char *what, long r)
{
    if (r < 0)
        printf("%-34s -1 %s\n", what, errname(errno));
    else
        printf("%-34s %ld\n", what, r);
}

static void on_alarm(int sig) { (void)sig; }

static void arm(int restart)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 200000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int q = msgget(IPC_PRIVATE, 0600);
    if (q < 0) { perror("msgget"); return 1; }
    struct msqid_ds ds;
    report("IPC_STAT", msgctl(q, IPC_STAT, &ds));
    printf("mode %o qnum %lu cbytes %lu qbytes>0 %d key %d\n", ds.msg_perm.mode & 0777,
           (unsigned long)ds.msg_qnum, (unsigned long)ds.msg_cbytes, ds.msg_qbytes > 0,
           (int)KEY(ds.msg_perm));
    printf("uid is mine %d cuid is mine %d\n", ds.msg_perm.uid == geteuid(),
           ds.msg_perm.cuid == geteuid());

    pid_t child = fork();
    if (child == 0) {
        struct m a = {1, "hello"}, b = {2, "world"}, c = {3, "third"};
        msgsnd(q, &a, 6, 0);
        msgsnd(q, &b, 6, 0);
        msgsnd(q, &c, 6, 0);
        _exit(0);
    }
    int st;
    waitpid(child, &st, 0);
    report("IPC_STAT after the child sent", msgctl(q, IPC_STAT, &ds));
    printf("qnum %lu cbytes %lu lspid is child %d\n", (unsigned long)ds.msg_qnum,
           (unsigned long)ds.msg_cbytes, ds.msg_lspid == child);
    struct m r;
    memset(&r, 0, sizeof r);
    report("msgrcv type 2", msgrcv(q, &r, sizeof r.text, 2, 0));
    printf("  got type %ld '%s'\n", r.mtype, r.text);
    report("msgrcv type -3 (lowest <= 3)", msgrcv(q, &r, sizeof r.text, -3, 0));
    printf("  got type %ld '%s'\n", r.mtype, r.text);
    report("msgrcv small buffer: E2BIG", msgrcv(q, &r, 2, 0, 0));
    report("msgrcv MSG_NOERROR truncates", msgrcv(q, &r, 2, 0, MSG_NOERROR));
    printf("  got type %ld '%.2s'\n", r.mtype, r.text);
    report("msgrcv IPC_NOWAIT empty", msgrcv(q, &r, sizeof r.text, 0, IPC_NOWAIT));
    report("msgrcv MSG_EXCEPT nowait", msgrcv(q, &r, sizeof r.text, 1, IPC_NOWAIT | MSG_EXCEPT));

    /* Errors. */
    struct m z = {0, "zero"};
    report("msgsnd mtype 0", msgsnd(q, &z, 4, 0));
    struct msginfo mi;
    int maxid = msgctl(0, IPC_INFO, (struct msqid_ds *)&mi);
    printf("IPC_INFO ok %d msgmax %d msgmnb %d msgmni>0 %d\n", maxid >= 0, mi.msgmax,
           mi.msgmnb, mi.msgmni > 0);
    char *big = calloc(1, mi.msgmax + 16);
    ((struct m *)big)->mtype = 1;
    report("msgsnd msgsz > msgmax", msgsnd(q, big, mi.msgmax + 1, 0));
    report("msgsnd msgsz -1", msgsnd(q, big, (size_t)-1, 0));
    report("msgsnd NULL", msgsnd(q, NULL, 4, 0));
    report("msgsnd bad text", msgsnd(q, (void *)8, 4, 0));
    report("msgsnd bad id", msgsnd(-1, big, 4, 0));
    report("msgsnd msgmax bytes", msgsnd(q, big, mi.msgmax, IPC_NOWAIT));
    report("msgrcv into NULL (lost)", msgrcv(q, NULL, mi.msgmax, 0, 0));
    msgctl(q, IPC_STAT, &ds);
    printf("qnum after the lost message %lu\n", (unsigned long)ds.msg_qnum);
    report("msgrcv negative size", msgrcv(q, &r, (size_t)-1, 0, IPC_NOWAIT));
    report("msgctl bad cmd", msgctl(q, 99, &ds));
    report("msgctl IPC_STAT NULL", syscall(SYS_msgctl, q, IPC_STAT, NULL));
    report("msgctl IPC_SET bad ptr", syscall(SYS_msgctl, q, IPC_SET, (void *)8));

    /* IPC_SET. */
    msgctl(q, IPC_STAT, &ds);
    ds.msg_perm.mode = 0640;
    ds.msg_qbytes = 100;
    report("IPC_SET mode 0640 qbytes 100", msgctl(q, IPC_SET, &ds));
    memset(&ds, 0, sizeof ds);
    msgctl(q, IPC_STAT, &ds);
    printf("mode %o qbytes %lu\n", ds.msg_perm.mode & 0777, (unsigned long)ds.msg_qbytes);

    /* A full queue: msgsnd waits, and a signal ends the wait. */
    memset(big, 'x', 100);
    report("msgsnd 100 bytes (fills it)", msgsnd(q, big, 100, 0));
    report("msgsnd full, IPC_NOWAIT", msgsnd(q, big, 1, IPC_NOWAIT));
    arm(1);
    report("msgsnd full, SIGALRM (SA_RESTART)", msgsnd(q, big, 1, 0));
    report("msgrcv the 100 bytes", msgrcv(q, big, 200, 0, 0));
    arm(0);
    report("msgrcv empty, SIGALRM", msgrcv(q, &r, sizeof r.text, 0, 0));
    arm(1);
    report("msgrcv empty, SIGALRM (SA_RESTART)", msgrcv(q, &r, sizeof r.text, 0, 0));

    /* A receiver blocked when the queue goes: EIDRM. */
    int p[2];
    pipe(p);
    child = fork();
    if (child == 0) {
        close(p[0]);
        write(p[1], "r", 1);
        long n = msgrcv(q, &r, sizeof r.text, 0, 0);
        printf("child msgrcv: %ld %s\n", n, n < 0 ? errname(errno) : "");
        _exit(0);
    }
    close(p[1]);
    char c;
    read(p[0], &c, 1);
    usleep(500000);
    long rm = msgctl(q, IPC_RMID, NULL);
    waitpid(child, &st, 0);
    report("IPC_RMID", rm);
    report("msgsnd after IPC_RMID", msgsnd(q, big, 1, 0));
    report("IPC_RMID again", msgctl(q, IPC_RMID, NULL));
    printf("done\n");
    return 0;
}
