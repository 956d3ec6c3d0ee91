/* ioperm/iopl and IN/OUT: the answers, what a permitted port reads, a
   refused one's SIGSEGV, CLI under iopl(3), inheritance by fork and exec. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <sys/wait.h>
#include <unistd.h>

static sigjmp_buf jb;
static void on_segv(int sig, siginfo_t *si, void *uc) { siglongjmp(jb, si->si_code + 1000); }

static void try_in(unsigned short port)
{
    int r = sigsetjmp(jb, 1);
    if (r) {
        printf("  inb %#x: SIGSEGV code %d\n", port, r - 1000);
        return;
    }
    unsigned char b = inb(port);
    unsigned l = port < 0xfffc ? inl(port) : 0;
    printf("  inb %#x: %#x inl %#x\n", port, b, l);
}

static void try_out(unsigned short port)
{
    if (sigsetjmp(jb, 1)) {
        printf("  outb %#x: SIGSEGV\n", port);
        return;
    }
    outb(0, port);
    printf("  outb %#x: ok\n", port);
}

static void *in_thread(void *arg)
{
    printf("thread:\n");
    try_out(0x80);
    try_out(0x84);
    return arg;
}

static void show(const char *what, int r)
{
    printf("%s: %d %s\n", what, r, r < 0 ? strerror(errno) : "");
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, 0);
    if (argc > 1) {                 /* after execve */
        try_out(0x80);
        try_out(0x81);
        return 0;
    }
    try_in(0x80);
    show("ioperm 0x80 on", ioperm(0x80, 1, 1));
    if (errno == ENOSYS)
        return 0;                   /* a kernel without CONFIG_X86_IOPL_IOPERM */
    show("ioperm num 0", ioperm(0x80, 0, 1));
    show("ioperm past 64k", ioperm(0xfff0, 0x20, 1));
    show("ioperm off unheld", ioperm(0x300, 4, 0));
    try_in(0x80);
    try_out(0x80);
    try_out(0x81);
    show("ioperm 0x80-0x83", ioperm(0x80, 4, 1));
    try_in(0x80);
    try_in(0x82);
    pthread_t th;
    pthread_create(&th, 0, in_thread, 0);
    pthread_join(th, 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        printf("child:\n");
        try_out(0x80);
        show("child ioperm off", ioperm(0x80, 4, 0));
        try_out(0x80);
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, 0, 0);
    try_out(0x80);
    show("iopl 4", iopl(4));
    show("iopl 3", iopl(3));
    try_in(0x1234);
    if (!sigsetjmp(jb, 1)) {
        asm volatile("cli");
        printf("  cli: ok\n");
    } else {
        printf("  cli: SIGSEGV\n");
    }
    show("iopl 0", iopl(0));
    try_out(0x1234);
    try_out(0x80);
    fflush(stdout);
    execl("/proc/self/exe", argv[0], "exec", (char *)0);
    return 1;
}
