/* System V shared memory: a segment attached in a parent is the same
 * memory in its forked child and in a second attachment; shm_nattch as
 * attachments come and go (fork, shmdt, exec); SHM_RDONLY (a store is
 * SIGSEGV, mprotect to writable EACCES); SHM_RND, SHM_REMAP and their
 * errors; shmdt of a partly unmapped attachment; IPC_RMID while attached;
 * IPC_STAT / IPC_SET / IPC_INFO. Every segment made is removed. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

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
        printf("%-38s -1 %s\n", what, errname(errno));
    else
        printf("%-38s %ld\n", what, r);
}

static void reportp(const char *what, void *p)
{
    report(what, p == (void *)-1 ? -1 : 0);
}

static long nattch(int id)
{
    struct shmid_ds ds;
    if (shmctl(id, IPC_STAT, &ds) < 0)
        return -1;
    return (long)ds.shm_nattch;
}

static int maps_has(void *p)
{
    char line[512], want[32];
    snprintf(want, sizeof want, "%lx-", (unsigned long)(uintptr_t)p);
    FILE *f = fopen("/proc/self/maps", "r");
    int found = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, want, strlen(want)) && strstr(line, "/SYSV") && strstr(line, "rw-s"))
            found = 1;
    if (f)
        fclose(f);
    return found;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 3 && !strcmp(argv[1], "nattch")) {
        printf("after exec: nattch %ld\n", nattch(atoi(argv[2])));
        return 0;
    }
    long page = sysconf(_SC_PAGESIZE);
    int id = shmget(IPC_PRIVATE, 3 * page + 100, 0600);
    if (id < 0) { perror("shmget"); return 1; }
    struct shmid_ds ds;
    report("IPC_STAT", shmctl(id, IPC_STAT, &ds));
    printf("mode %o segsz %lu nattch %lu cpid is me %d\n", ds.shm_perm.mode & 0777,
           (unsigned long)ds.shm_segsz, (unsigned long)ds.shm_nattch, ds.shm_cpid == getpid());

    char *a = shmat(id, NULL, 0);
    reportp("shmat NULL", a);
    printf("aligned %d nattch %ld maps shows it %d zero-filled %d\n",
           ((uintptr_t)a & (page - 1)) == 0, nattch(id), maps_has(a), a[0] == 0 && a[4 * page - 1] == 0);
    strcpy(a, "parent wrote this");
    char *b = shmat(id, NULL, 0);
    reportp("second shmat", b);
    printf("distinct %d sees '%s' nattch %ld\n", a != b, b, nattch(id));
    b[page] = 'B';
    printf("first sees the second's store %d\n", a[page] == 'B');

    pid_t child = fork();
    if (child == 0) {
        printf("child sees '%s' nattch %ld\n", a, nattch(id));
        strcpy(a + 2 * page, "child wrote this");
        _exit(0);
    }
    int st;
    waitpid(child, &st, 0);
    printf("parent sees '%s' nattch %ld\n", a + 2 * page, nattch(id));
    report("shmdt second", shmdt(b));
    printf("nattch %ld\n", nattch(id));

    /* exec detaches. */
    child = fork();
    if (child == 0) {
        char ids[16];
        snprintf(ids, sizeof ids, "%d", id);
        char *av[] = {argv[0], "nattch", ids, NULL};
        execv("/proc/self/exe", av);
        _exit(127);
    }
    waitpid(child, &st, 0);

    /* SHM_RDONLY. */
    char *r = shmat(id, NULL, SHM_RDONLY);
    reportp("shmat SHM_RDONLY", r);
    printf("reads '%s'\n", r);
    report("mprotect rdonly attach RW", mprotect(r, page, PROT_READ | PROT_WRITE));
    report("mprotect rdonly attach R", mprotect(r, page, PROT_READ));
    child = fork();
    if (child == 0) {
        r[0] = 'x';
        _exit(0);
    }
    waitpid(child, &st, 0);
    printf("store to SHM_RDONLY: signal %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    report("shmdt rdonly", shmdt(r));

    /* Addresses. */
    char *spot = mmap(NULL, 8 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(spot, 8 * page);
    reportp("shmat unaligned, no SHM_RND", shmat(id, spot + 123, 0));
    char *c = shmat(id, spot + 123, SHM_RND);
    reportp("shmat unaligned, SHM_RND", c);
    printf("rounded down %d sees '%s'\n", c == spot, c);
    reportp("shmat over it, no SHM_REMAP", shmat(id, spot + page, 0));
    char *d = shmat(id, spot + page, SHM_REMAP);
    reportp("shmat over it, SHM_REMAP", d);
    printf("at spot+page %d nattch %ld\n", d == spot + page, nattch(id));
    reportp("SHM_REMAP without address", shmat(id, NULL, SHM_REMAP));
    reportp("shmat bad id", shmat(-1, NULL, 0));
    reportp("shmat removed-style id", shmat(0x7ffffff, NULL, 0));
    char *low = shmat(id, (void *)(uintptr_t)page, 0);
    reportp("shmat at page 1", low);
    report("shmdt unaligned", shmdt(spot + 1));
    report("shmdt not an attachment", shmdt(&page));
    report("shmdt spot (the first, partly covered)", shmdt(spot));
    printf("nattch %ld\n", nattch(id));
    /* Partly unmapped: shmdt takes the rest. */
    report("munmap first page of spot+page", munmap(spot + page, page));
    report("shmdt spot+page (its first page gone)", shmdt(spot + page));
    report("shmdt spot+2page (the rest)", shmdt(spot + 2 * page));
    printf("nattch %ld\n", nattch(id));
    report("shmdt again", shmdt(spot + 2 * page));

    /* Errors, IPC_SET, IPC_INFO. */
    report("shmget size 0", shmget(IPC_PRIVATE, 0, 0600));
    int huge = shmget(IPC_PRIVATE, (size_t)-4096, 0600);
    report("shmget huge", huge < 0 ? -1 : 0);
    if (huge >= 0)
        shmctl(huge, IPC_RMID, NULL);
    report("IPC_STAT bad ptr", syscall(SYS_shmctl, id, IPC_STAT, 8L));
    report("shmctl bad cmd", shmctl(id, 99, &ds));
    shmctl(id, IPC_STAT, &ds);
    ds.shm_perm.mode = 0640;
    report("IPC_SET mode 0640", shmctl(id, IPC_SET, &ds));
    memset(&ds, 0, sizeof ds);
    shmctl(id, IPC_STAT, &ds);
    printf("mode %o\n", ds.shm_perm.mode & 0777);
    struct shminfo si;
    report("IPC_INFO >= 0", shmctl(0, IPC_INFO, (struct shmid_ds *)&si) >= 0 ? 0 : -1);
    printf("shmmax %lu shmmin %lu shmmni %lu\n", (unsigned long)si.shmmax,
           (unsigned long)si.shmmin, (unsigned long)si.shmmni);

    /* IPC_RMID while attached: the segment lives on until the last detach. */
    report("IPC_RMID while attached", shmctl(id, IPC_RMID, NULL));
    shmctl(id, IPC_STAT, &ds);
    printf("dest %d nattch %lu still reads '%s'\n", !!(ds.shm_perm.mode & SHM_DEST),
           (unsigned long)ds.shm_nattch, a);
    if (low != (void *)-1)
        shmdt(low);
    report("shmdt last", shmdt(a));
    report("IPC_STAT after the last detach", shmctl(id, IPC_STAT, &ds));
    printf("done\n");
    return 0;
}
