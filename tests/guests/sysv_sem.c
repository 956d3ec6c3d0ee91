/* System V semaphores between a parent and its forked children: SETALL /
 * GETALL / SETVAL / GETVAL / GETPID / GETNCNT, SEM_UNDO undone when a
 * child exits, a waiter woken by another process, semtimedop's timeout,
 * a wait ended by a signal (EINTR even with SA_RESTART), EIDRM, and the
 * errors (EINVAL, E2BIG, EFAULT, EFBIG, ERANGE, EAGAIN). Every set made is
 * removed. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

union semun { int val; struct semid_ds *buf; unsigned short *array; };

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
        printf("%-36s -1 %s\n", what, errname(errno));
    else
        printf("%-36s %ld\n", what, r);
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

static void getall(int s, const char *when)
{
    unsigned short v[3] = {9, 9, 9};
    union semun u = {.array = v};
    semctl(s, 0, GETALL, u);
    printf("%-36s %u %u %u\n", when, v[0], v[1], v[2]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int s = semget(IPC_PRIVATE, 3, 0600);
    if (s < 0) { perror("semget"); return 1; }
    struct semid_ds ds;
    union semun u = {.buf = &ds};
    report("IPC_STAT", semctl(s, 0, IPC_STAT, u));
    printf("mode %o nsems %lu otime %ld uid is mine %d\n", ds.sem_perm.mode & 0777,
           (unsigned long)ds.sem_nsems, (long)ds.sem_otime, ds.sem_perm.uid == geteuid());
    unsigned short init[3] = {1, 2, 3};
    u.array = init;
    report("SETALL 1 2 3", semctl(s, 0, SETALL, u));
    getall(s, "GETALL");
    u.val = 7;
    report("SETVAL sem 1 = 7", semctl(s, 1, SETVAL, u));
    report("GETVAL sem 1", semctl(s, 1, GETVAL));
    struct sembuf op = {0, -1, 0};
    report("semop sem 0 -1", semop(s, &op, 1));
    printf("GETPID is me %d\n", semctl(s, 0, GETPID) == getpid());
    u.buf = &ds;
    semctl(s, 0, IPC_STAT, u);
    printf("otime set %d\n", ds.sem_otime != 0);
    op.sem_flg = IPC_NOWAIT;
    report("semop sem 0 -1 IPC_NOWAIT (at 0)", semop(s, &op, 1));

    /* SEM_UNDO: a child takes 2 from sem 2 and exits; its take is undone. */
    pid_t child = fork();
    if (child == 0) {
        struct sembuf take = {2, -2, SEM_UNDO};
        semop(s, &take, 1);
        printf("child took 2, sem 2 is %d\n", semctl(s, 2, GETVAL));
        _exit(0);
    }
    int st;
    waitpid(child, &st, 0);
    report("sem 2 after the child exited", semctl(s, 2, GETVAL));

    /* A waiter in another process, woken by this one. */
    int p[2];
    pipe(p);
    child = fork();
    if (child == 0) {
        struct sembuf wait0 = {0, -1, 0};
        close(p[0]);
        write(p[1], "w", 1);
        long r = semop(s, &wait0, 1);
        printf("child woke: %ld\n", r);
        _exit(0);
    }
    close(p[1]);
    char c;
    read(p[0], &c, 1);
    close(p[0]);
    usleep(300000);
    report("GETNCNT sem 0 (one waiter)", semctl(s, 0, GETNCNT));
    report("GETZCNT sem 0", semctl(s, 0, GETZCNT));
    struct sembuf post = {0, 1, 0};
    long r = semop(s, &post, 1);
    waitpid(child, &st, 0);
    report("semop sem 0 +1 (wakes it)", r);

    /* Timeouts and signals. */
    struct sembuf wait0 = {0, -1, 0};
    struct timespec ts = {0, 100000000};
    report("semtimedop 100ms at 0", semtimedop(s, &wait0, 1, &ts));
    struct timespec bad = {0, 1000000000};
    report("semtimedop nsec 1e9", semtimedop(s, &wait0, 1, &bad));
    struct timespec neg = {-1, 0};
    report("semtimedop sec -1", semtimedop(s, &wait0, 1, &neg));
    struct sembuf post1 = {1, 1, 0};
#ifdef SYS_semtimedop_time64
    report("semtimedop bad ts pointer", syscall(SYS_semtimedop_time64, s, &post1, 1, 8L));
#else
    report("semtimedop bad ts pointer", syscall(SYS_semtimedop, s, &post1, 1, 8L));
#endif
    arm(1);
    report("semop at 0, SIGALRM (SA_RESTART)", semop(s, &wait0, 1));
    arm(0);
    report("semop at 0, SIGALRM", semop(s, &wait0, 1));

    /* Errors. */
    report("semop nsops 0", semop(s, &op, 0));
    report("semop bad id", semop(-1, &op, 1));
    struct seminfo si;
    u.buf = (struct semid_ds *)&si;
    report("IPC_INFO >= 0", semctl(s, 0, IPC_INFO, u) >= 0 ? 0 : -1);
    printf("semmsl %d semopm %d semvmx %d\n", si.semmsl, si.semopm, si.semvmx);
    struct sembuf *many = calloc(si.semopm + 1, sizeof *many);
    report("semop nsops > semopm", semop(s, many, si.semopm + 1));
    report("semop nsops huge", semop(s, many, 0x7fffffff));
    report("semop bad sops", semop(s, (void *)8, 1));
    report("semop nsops > semopm, bad sops", semop(s, (void *)8, si.semopm + 1));
    struct sembuf far = {5, 1, 0};
    report("semop semnum 5 of 3", semop(s, &far, 1));
    u.val = 40000;
    report("SETVAL 40000", semctl(s, 0, SETVAL, u));
    report("GETVAL semnum 3", semctl(s, 3, GETVAL));
    report("semctl bad cmd", semctl(s, 0, 99));
    report("IPC_STAT bad ptr", syscall(SYS_semctl, s, 0, IPC_STAT, 8L));
    report("GETALL bad ptr", syscall(SYS_semctl, s, 0, GETALL, 8L));
    report("SETALL bad ptr", syscall(SYS_semctl, s, 0, SETALL, 8L));
    report("semget nsems -1", semget(IPC_PRIVATE, -1, 0600));

    /* IPC_SET. */
    u.buf = &ds;
    semctl(s, 0, IPC_STAT, u);
    ds.sem_perm.mode = 0640;
    report("IPC_SET mode 0640", semctl(s, 0, IPC_SET, u));
    memset(&ds, 0, sizeof ds);
    semctl(s, 0, IPC_STAT, u);
    printf("mode %o nsems %lu\n", ds.sem_perm.mode & 0777, (unsigned long)ds.sem_nsems);

    /* A waiter when the set goes: EIDRM. */
    pipe(p);
    child = fork();
    if (child == 0) {
        close(p[0]);
        write(p[1], "w", 1);
        long n = semop(s, &wait0, 1);
        printf("child semop: %ld %s\n", n, n < 0 ? errname(errno) : "");
        _exit(0);
    }
    close(p[1]);
    read(p[0], &c, 1);
    usleep(500000);
    long rm = semctl(s, 0, IPC_RMID);
    waitpid(child, &st, 0);
    report("IPC_RMID", rm);
    report("GETVAL after IPC_RMID", semctl(s, 0, GETVAL));
    printf("done\n");
    return 0;
}
