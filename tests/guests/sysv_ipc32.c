/* i386's two ways into System V IPC, by raw system calls: the ipc()
 * multiplexer (call numbers, versions, old structures without IPC_64,
 * msgrcv's ipc_kludge, shmat's address stored at third) and the direct
 * calls (Linux 5.1), whose cmd with IPC_64 behaves as compat_ksys_*ctl
 * makes it. What the calls wrote is shown byte by byte, less what varies
 * between runs (sequence numbers, times, pids). Every object made is removed. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SEMOP 1
#define SEMGET 2
#define SEMCTL 3
#define SEMTIMEDOP 4
#define MSGSND 11
#define MSGRCV 12
#define MSGGET 13
#define MSGCTL 14
#define SHMAT 21
#define SHMDT 22
#define SHMGET 23
#define SHMCTL 24
#define V64 0x100

static unsigned char buf[256];

static long ipc(unsigned call, long first, long second, long third, void *ptr, long fifth)
{
    return syscall(SYS_ipc, call, first, second, third, ptr, fifth);
}

static int written(void)
{
    int n;
    for (n = sizeof buf - 1; n >= 0 && buf[n] == 0xAA; n--)
        ;
    return n + 1;
}

static void show(const char *what, long r)
{
    printf("%-30s %ld", what, r < 0 ? -1 : r > 1000 ? 1000 : r);
    if (r < 0)
        printf(" errno %d", errno);
    printf(" wrote %d\n", written());
}

/* The bytes written, with the ranges that vary between runs blanked. */
static void dump(const char *what, int n, const int *skip)
{
    printf("  %s:", what);
    for (int i = 0; i < n; i++) {
        int blank = 0;
        for (const int *s = skip; s && s[0] >= 0; s += 2)
            if (i >= s[0] && i < s[0] + s[1])
                blank = 1;
        if (blank)
            printf(" ..");
        else
            printf(" %02x", buf[i]);
    }
    printf("\n");
}

#define CALL(what, expr) do { memset(buf, 0xAA, sizeof buf); long r_ = (expr); show(what, r_); } while (0)

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    uid_t me = geteuid();
    printf("uid fits 16 bits %d\n", me < 65535);

    /* Message queues. */
    int q = ipc(MSGGET, IPC_PRIVATE, 0600, 0, NULL, 0);
    printf("msgget via ipc %d\n", q >= 0);
    struct { int32_t mtype; char text[16]; } m = {5, "kludge"};
    CALL("MSGSND", ipc(MSGSND, q, 7, 0, &m, 0));
    /* old msqid_ds (56): stime at 24, ctime at 32, lspid at 50 */
    static const int msq_old[] = {14, 2, 24, 4, 32, 4, 50, 2, -1};
    CALL("MSGCTL IPC_STAT (old)", ipc(MSGCTL, q, IPC_STAT, 0, buf, 0));
    dump("msqid_ds", 56, msq_old);
    static const int msq64[] = {24, 2, 36, 8, 44, 8, 52, 8, 72, 4, -1};
    CALL("MSGCTL IPC_STAT|IPC_64", ipc(MSGCTL, q, IPC_STAT | V64, 0, buf, 0));
    dump("msqid64_ds", 88, msq64);
    CALL("direct msgctl IPC_STAT", syscall(SYS_msgctl, q, IPC_STAT, buf));
    dump("msqid64_ds", 88, msq64);
    long r = syscall(SYS_msgctl, q, IPC_STAT | V64, buf);
    printf("direct msgctl IPC_STAT|IPC_64 returns the id %d\n", r == q);
    CALL("direct msgctl IPC_RMID|IPC_64", syscall(SYS_msgctl, q, IPC_RMID | V64, 0));
    CALL("direct msgctl MSG_INFO|IPC_64", syscall(SYS_msgctl, q, MSG_INFO | V64, buf) >= 0);
    printf("  msgpool is IPC_INFO's %d\n", ((int *)buf)[0] > 1000);
    struct { void *msgp; int32_t msgtyp; } kludge = {buf, 0};
    CALL("MSGRCV version 0 (kludge)", ipc(MSGRCV, q, 16, 0, &kludge, 0));
    dump("msgbuf", 12, NULL);
    CALL("MSGRCV version 0, NULL kludge", ipc(MSGRCV, q, 16, 0, NULL, 0));
    CALL("MSGRCV version 0, bad kludge", ipc(MSGRCV, q, 16, 0, (void *)8, 0));
    ipc(MSGSND, q, 3, 0, &m, 0);
    CALL("MSGRCV version 1", ipc(MSGRCV | 1 << 16, q, 16, IPC_NOWAIT, buf, -5));
    dump("msgbuf", 8, NULL);
    CALL("MSGRCV negative size", ipc(MSGRCV | 1 << 16, q, -1, IPC_NOWAIT, buf, 0));
    CALL("MSGRCV nowait, empty", ipc(MSGRCV | 1 << 16, q, 16, IPC_NOWAIT, buf, 0));
    CALL("MSGCTL IPC_SET (old)", (ipc(MSGCTL, q, IPC_STAT, 0, buf, 0),
                                  buf[12] = 0x20, ipc(MSGCTL, q, IPC_SET, 0, buf, 0)));
    CALL("MSGCTL IPC_STAT|IPC_64", ipc(MSGCTL, q, IPC_STAT | V64, 0, buf, 0));
    printf("  mode after IPC_SET %o\n", *(uint16_t *)(buf + 20) & 0777);
    CALL("MSGCTL IPC_INFO (old)", ipc(MSGCTL, 0, IPC_INFO, 0, buf, 0) >= 0);
    dump("msginfo", 32, (int[]){0, 4, 24, 4, -1});
    CALL("MSGCTL IPC_SET id -1, bad ptr", ipc(MSGCTL, -1, IPC_SET, 0, (void *)8, 0));
    CALL("direct IPC_SET|IPC_64 -1, bad", syscall(SYS_msgctl, -1, IPC_SET | V64, 8));
    CALL("direct IPC_SET|IPC_64 bad ptr", syscall(SYS_msgctl, q, IPC_SET | V64, 8));
    uint32_t bad = 8;
    CALL("SEMCTL id -1 SETALL bad", ipc(SEMCTL, -1, 0, SETALL, &bad, 0));
    CALL("MSGCTL IPC_RMID", ipc(MSGCTL, q, IPC_RMID, 0, NULL, 0));

    /* Semaphores. */
    int s = ipc(SEMGET, IPC_PRIVATE, 2, 0600, NULL, 0);
    printf("semget via ipc %d\n", s >= 0);
    unsigned short vals[2] = {4, 0};
    uint32_t arg = (uint32_t)(uintptr_t)vals;
    CALL("SEMCTL SETALL", ipc(SEMCTL, s, 0, SETALL, &arg, 0));
    arg = (uint32_t)(uintptr_t)buf;
    CALL("SEMCTL GETALL", ipc(SEMCTL, s, 0, GETALL, &arg, 0));
    dump("values", 4, NULL);
    CALL("SEMCTL NULL ptr", ipc(SEMCTL, s, 0, GETALL, NULL, 0));
    CALL("SEMCTL bad ptr", ipc(SEMCTL, s, 0, GETALL, (void *)8, 0));
    static const int sem_old[] = {14, 2, 16, 8, -1};
    CALL("SEMCTL IPC_STAT (old)", ipc(SEMCTL, s, 0, IPC_STAT, &arg, 0));
    dump("semid_ds", 44, sem_old);
    static const int sem64[] = {24, 2, 36, 16, -1};
    CALL("SEMCTL IPC_STAT|IPC_64", ipc(SEMCTL, s, 0, IPC_STAT | V64, &arg, 0));
    dump("semid64_ds", 64, sem64);
    r = syscall(SYS_semctl, s, 0, IPC_STAT | V64, buf);
    printf("direct semctl IPC_STAT|IPC_64 returns the id %d\n", r == s);
    CALL("direct semctl GETVAL|IPC_64", syscall(SYS_semctl, s, 0, GETVAL | V64, 0));
    CALL("direct semctl GETVAL|IPC_64 #9", syscall(SYS_semctl, s, 9, GETVAL | V64, 0));
    CALL("direct semctl SETVAL|IPC_64", syscall(SYS_semctl, s, 1, SETVAL | V64, 3));
    CALL("direct semctl GETVAL", syscall(SYS_semctl, s, 1, GETVAL, 0));
    CALL("direct semctl SEM_INFO|IPC_64", syscall(SYS_semctl, s, 0, SEM_INFO | V64, buf) >= 0);
    printf("  semusz is IPC_INFO's %d\n", ((int *)buf)[7] == 20);
    struct sembuf ops[2] = {{0, -1, 0}, {1, -3, 0}};
    CALL("SEMOP", ipc(SEMOP, s, 2, 0, ops, 0));
    struct { int32_t sec, nsec; } ts = {0, 50000000};
    CALL("SEMTIMEDOP 50ms", ipc(SEMTIMEDOP, s, 2, 0, ops, (long)(uintptr_t)&ts));
    ts.nsec = -1;
    CALL("SEMTIMEDOP bad nsec", ipc(SEMTIMEDOP, s, 2, 0, ops, (long)(uintptr_t)&ts));
    CALL("SEMTIMEDOP bad ts", ipc(SEMTIMEDOP, s, 2, 0, ops, 8));
    struct { int64_t sec, nsec; } ts64 = {0, 50000000 | (int64_t)0x7fffffff << 32};
    CALL("semtimedop_time64 (nsec's high half)", syscall(SYS_semtimedop_time64, s, ops, 2, &ts64));
    ts64.nsec = 1000000000;
    CALL("semtimedop_time64 nsec 1e9", syscall(SYS_semtimedop_time64, s, ops, 2, &ts64));
    ts64.sec = -1;
    ts64.nsec = 0;
    CALL("semtimedop_time64 sec -1", syscall(SYS_semtimedop_time64, s, ops, 2, &ts64));
    CALL("SEMOP nsops 0", ipc(SEMOP, s, 0, 0, ops, 0));
    CALL("SEMCTL IPC_RMID", ipc(SEMCTL, s, 0, IPC_RMID, &arg, 0));

    /* Shared memory. */
    int h = ipc(SHMGET, IPC_PRIVATE, 8192, 0600, NULL, 0);
    printf("shmget via ipc %d\n", h >= 0);
    uint32_t at = 0;
    CALL("SHMAT", ipc(SHMAT, h, 0, (long)(uintptr_t)&at, NULL, 0));
    printf("  address stored %d\n", at != 0 && (at & 4095) == 0);
    strcpy((char *)(uintptr_t)at, "via ipc");
    CALL("SHMAT version 1", ipc(SHMAT | 1 << 16, h, 0, (long)(uintptr_t)&at, NULL, 0));
    CALL("SHMAT bad third", ipc(SHMAT, h, 0, 8, NULL, 0));
    static const int shm_old[] = {14, 2, 20, 12, 32, 4, -1};
    CALL("SHMCTL IPC_STAT (old)", ipc(SHMCTL, h, IPC_STAT, 0, buf, 0));
    dump("shmid_ds", 48, shm_old);
    printf("  nattch (the bad third's stays) %u\n", *(uint16_t *)(buf + 36));
    static const int shm64[] = {24, 2, 40, 24, 64, 8, -1};
    CALL("SHMCTL IPC_STAT|IPC_64", ipc(SHMCTL, h, IPC_STAT | V64, 0, buf, 0));
    dump("shmid64_ds", 84, shm64);
    CALL("direct shmctl IPC_STAT|IPC_64", syscall(SYS_shmctl, h, IPC_STAT | V64, buf));
    CALL("SHMCTL IPC_INFO (old)", ipc(SHMCTL, 0, IPC_INFO, 0, buf, 0) >= 0);
    dump("shminfo", 20, NULL);
    CALL("SHMCTL IPC_INFO|IPC_64", ipc(SHMCTL, 0, IPC_INFO | V64, 0, buf, 0) >= 0);
    dump("shminfo64", 36, NULL);
    CALL("direct shmat", syscall(SYS_shmat, h, 0, 0) != -1);
    CALL("SHMDT", ipc(SHMDT, 0, 0, 0, (void *)(uintptr_t)at, 0));
    CALL("SHMCTL IPC_RMID", ipc(SHMCTL, h, IPC_RMID, 0, NULL, 0));
    CALL("unknown call 99", ipc(99, 0, 0, 0, NULL, 0));
    printf("done\n");
    return 0;
}
