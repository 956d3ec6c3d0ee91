/* Execs that may keep the CPU (kernel/keepinterp) in the company of fork,
 * vfork, threads, a ptrace tracer and static programs:
 *   fork         fork after a kept exec; the child execs again
 *   vfork        a vfork child execs; the parent goes on
 *   thread       a second thread execs (the first goes away)
 *   static S     exec the static program S, which execs this one back
 *   poke         a tracer rewrites the tracee's ld.so (where its entry
 *                point calls first) before the tracee execs: the new
 *                image runs the file's ld.so (Linux: a new mm)
 *   pokeback     the same, the bytes put back before the exec
 *   rewrite HOW  run a rewritten _dl_start (mov eax, 42; ret), put the
 *                file's bytes back (HOW: store, procmem, vmwritev, read),
 *                then exec: the new image's ld.so must run the file's code,
 *                not the blocks translated from the rewrite
 *   reprotect    mprotect ld.so's code writable and back, then exec
 *   then ...     exec to do ... (in an image whose ld.so code was kept) */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char *self_path;

static void again(const char *what) {
    fflush(stdout);
    execl(self_path, "keep_more", what, (char *)NULL);
    _exit(99);
}

static void *thread_exec(void *arg) {
    (void)arg;
    again("run");
    return NULL;
}

/* Where ld.so's entry point calls first, in this process (and a fork's). */
static unsigned long first_call(void) {
    unsigned long base = getauxval(AT_BASE);
    const ElfW(Ehdr) *eh = (const void *)base;
    const unsigned char *p = (const void *)(base + eh->e_entry);
    for (int i = 0; i < 16; i++)
        if (p[i] == 0xe8) {
            int rel;
            memcpy(&rel, p + i + 1, 4);
            return base + eh->e_entry + i + 5 + rel;
        }
    return 0;
}

static int poke(int back) {
    unsigned long at = first_call();
    pid_t pid = fork();
    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        again("run");
    }
    int st;
    waitpid(pid, &st, 0);
    errno = 0;
    long old = ptrace(PTRACE_PEEKTEXT, pid, (void *)at, 0);
    if (errno)
        return 3;
    long ud2 = (old & ~0xffffL) | 0x0b0f;
    if (ptrace(PTRACE_POKETEXT, pid, (void *)at, (void *)ud2))
        return 4;
    if (back && ptrace(PTRACE_POKETEXT, pid, (void *)at, (void *)old))
        return 5;
    ptrace(PTRACE_SETOPTIONS, pid, 0, (void *)PTRACE_O_TRACEEXEC);
    ptrace(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &st, 0);
    printf("exec event %d\n", WIFSTOPPED(st) && st >> 8 == (SIGTRAP | PTRACE_EVENT_EXEC << 8));
    fflush(stdout);
    ptrace(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &st, 0);
    printf("child: exited %d status %d signaled %d\n", WIFEXITED(st), WEXITSTATUS(st),
           WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return 0;
}

static int rewrite(const char *how) {
    unsigned long at = first_call(), page = at & ~4095UL;
    static const unsigned char ret42[] = {0xb8, 42, 0, 0, 0, 0xc3};
    unsigned char orig[sizeof ret42];
    memcpy(orig, (void *)at, sizeof orig);
    if (mprotect((void *)page, 8192, PROT_READ | PROT_WRITE | PROT_EXEC))
        return 3;
    memcpy((void *)at, ret42, sizeof ret42);
    int (*volatile f)(void) = (int (*)(void))at;
    printf("rewritten: %d\n", f());
    if (!strcmp(how, "store")) {
        memcpy((void *)at, orig, sizeof orig);
    } else if (!strcmp(how, "procmem")) {
        int fd = open("/proc/self/mem", O_RDWR);
        if (pwrite64(fd, orig, sizeof orig, (off64_t)at) != sizeof orig)
            return 4;
        close(fd);
    } else if (!strcmp(how, "vmwritev")) {
        struct iovec l = {orig, sizeof orig}, r = {(void *)at, sizeof orig};
        if (process_vm_writev(getpid(), &l, 1, &r, 1, 0) != sizeof orig)
            return 5;
    } else if (!strcmp(how, "read")) {
        int p[2];
        if (pipe(p) || write(p[1], orig, sizeof orig) != sizeof orig
            || read(p[0], (void *)at, sizeof orig) != sizeof orig)
            return 6;
    }
    mprotect((void *)page, 8192, PROT_READ | PROT_EXEC);
    printf("the file's bytes: %d\n", !memcmp((void *)at, orig, sizeof orig));
    again("run");
    return 1;
}

int main(int argc, char **argv) {
    self_path = realpath("/proc/self/exe", NULL);
    const char *what = argc > 1 ? argv[1] : "run";
    if (!strcmp(what, "run")) {
        printf("ran\n");
        return 0;
    }
    if (!strcmp(what, "fork")) {
        again("forked");
    }
    if (!strcmp(what, "forked")) {
        pid_t pid = fork();
        if (pid == 0)
            again("run");
        int st;
        waitpid(pid, &st, 0);
        printf("child status %d\n", st);
        return 0;
    }
    if (!strcmp(what, "vfork")) {
        volatile int mark = 1;
        pid_t pid = vfork();
        if (pid == 0) {
            mark = 2;
            execl(self_path, "keep_more", "run", (char *)NULL);
            _exit(99);
        }
        int st;
        waitpid(pid, &st, 0);
        printf("vfork child status %d, its store seen %d\n", st, mark);
        return 0;
    }
    if (!strcmp(what, "thread")) {
        pthread_t t;
        pthread_create(&t, NULL, thread_exec, NULL);
        pause();
    }
    if (!strcmp(what, "static") && argc > 2) {
        fflush(stdout);
        execl(argv[2], "keep_more", "back", self_path, (char *)NULL);
        return 98;
    }
    if (!strcmp(what, "back") && argc > 2) {
        printf("static\n");
        fflush(stdout);
        execl(argv[2], "keep_more", "fork", (char *)NULL);
        return 97;
    }
    if (!strcmp(what, "then") && argc > 2) {
        /* the next image (the CPU and ld.so's code kept) does argv[2...] */
        fflush(stdout);
        execv(self_path, argv + 1);
        return 1;
    }
    if (!strcmp(what, "rewrite") && argc > 2)
        return rewrite(argv[2]);
    if (!strcmp(what, "reprotect")) {
        unsigned long page = first_call() & ~4095UL;
        if (mprotect((void *)page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC)
            || mprotect((void *)page, 4096, PROT_READ | PROT_EXEC))
            return 3;
        again("run");
    }
    if (!strcmp(what, "poke"))
        return poke(0);
    if (!strcmp(what, "pokeback"))
        return poke(1);
    return 2;
}
