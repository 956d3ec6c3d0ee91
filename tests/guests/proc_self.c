/* The guest's own /proc, compared with Linux: status Name and Threads, the
 * fd listing, cmdline, /dev/fd/N, readlink of /proc/self/exe, and
 * /proc/self/mem (a FOLL_FORCE write to read-only code, then run; EIO for an
 * unmapped address). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile int global = 0x1234;

__attribute__((noipa, aligned(16))) int patched(void) { return 1; }

static void status_lines(void) {
    char buf[8192];
    int fd = open("/proc/self/status", O_RDONLY);
    int n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
        if (!strncmp(line, "Name:", 5) || !strncmp(line, "Threads:", 8) ||
            !strncmp(line, "State:", 6))
            printf("%s\n", line);
}

static void fd_listing(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int names[64], n = 0;
    if (!d) { printf("opendir %s: %s\n", dir, strerror(errno)); return; }
    while ((e = readdir(d)) && n < 64)
        if (e->d_name[0] != '.') names[n++] = atoi(e->d_name);
    closedir(d);
    for (int i = 0; i < n; i++)          /* sort: the order is the kernel's */
        for (int j = i + 1; j < n; j++)
            if (names[j] < names[i]) { int x = names[i]; names[i] = names[j]; names[j] = x; }
    printf("%s:", dir);
    for (int i = 0; i < n; i++) printf(" %d", names[i]);
    printf("\n");
}

static void cmdline(void) {
    char buf[4096];
    int fd = open("/proc/self/cmdline", O_RDONLY);
    int n = read(fd, buf, sizeof buf);
    close(fd);
    printf("cmdline:");
    for (int i = 0; i < n; i++) putchar(buf[i] ? buf[i] : '|');
    printf("\n");
}

static void devfd(void) {
    int p[2];
    char buf[64], name[32];
    if (pipe(p)) return;
    int hi = fcntl(p[0], F_DUPFD, 60);
    write(p[1], "through-dev-fd", 14);
    close(p[1]);
    snprintf(name, sizeof name, "/dev/fd/%d", hi);
    int fd = open(name, O_RDONLY);
    int n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
    printf("/dev/fd/high: %s\n", n > 0 ? (buf[n] = 0, buf) : strerror(errno));
    close(fd);
    close(hi);
    close(p[0]);
    snprintf(name, sizeof name, "/dev/fd/%d", 40);
    fd = open(name, O_RDONLY);
    printf("/dev/fd/40 unopened: %s\n", fd < 0 ? strerror(errno) : "opened");
    for (int n2 = 3; n2 < 256; n2++)
        if (fcntl(n2, F_GETFD) >= 0) printf("fd %d is open\n", n2);
}

static void exe(void) {
    char buf[4096];
    int n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("exe: %s\n", buf);
    struct stat a, b;
    stat("/proc/self/exe", &a);
    stat(buf, &b);
    printf("exe same inode: %d\n", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    lstat("/proc/self/exe", &a);
    printf("exe is a symlink: %d\n", S_ISLNK(a.st_mode));
}

static void mem(void) {
    int fd = open("/proc/self/mem", O_RDWR);
    int v = 0;
    ssize_t r;
    if (fd < 0) { printf("open mem: %s\n", strerror(errno)); return; }
    r = pread(fd, &v, sizeof v, (off_t)(uintptr_t)&global);
    printf("pread global: %zd %#x\n", r, v);
    v = 0x5678;
    r = pwrite(fd, &v, sizeof v, (off_t)(uintptr_t)&global);
    printf("pwrite global: %zd now %#x\n", r, global);
    /* mov eax, 42; ret: written over read-only code (FOLL_FORCE), then run */
    unsigned char code[] = {0xb8, 42, 0, 0, 0, 0xc3};
    printf("patched before: %d\n", patched());
    r = pwrite(fd, code, sizeof code, (off_t)(uintptr_t)patched);
    printf("pwrite code: %zd\n", r);
    printf("patched after: %d\n", patched());
    char c;
    errno = 0;
    r = pread(fd, &c, 1, 0x10000);
    printf("pread unmapped: %zd %s\n", r, strerror(errno));
    errno = 0;
    r = pwrite(fd, &c, 1, 0x10000);
    printf("pwrite unmapped: %zd %s\n", r, strerror(errno));
    /* lseek + read, as a debugger reads */
    lseek(fd, (off_t)(uintptr_t)&global, SEEK_SET);
    v = 0;
    r = read(fd, &v, sizeof v);
    printf("lseek+read: %zd %#x pos %s\n", r, v,
           lseek(fd, 0, SEEK_CUR) == (off_t)(uintptr_t)&global + 4 ? "advanced" : "wrong");
    /* a page made PROT_NONE is still read and written through mem */
    char *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p[0] = 'x';
    mprotect(p, 4096, PROT_NONE);
    c = 0;
    r = pread(fd, &c, 1, (off_t)(uintptr_t)p);
    printf("pread PROT_NONE: %zd %c\n", r, c);
    c = 'y';
    r = pwrite(fd, &c, 1, (off_t)(uintptr_t)p);
    printf("pwrite PROT_NONE: %zd\n", r);
    mprotect(p, 4096, PROT_READ);
    printf("after: %c\n", p[0]);
    close(fd);
}

int main(int argc, char **argv) {
    (void)argc; (void)argv;
    setvbuf(stdout, NULL, _IONBF, 0);
    status_lines();
    fd_listing("/proc/self/fd");
    fd_listing("/dev/fd");
    fd_listing("/proc/self/fdinfo");
    cmdline();
    devfd();
    exe();
    mem();
    return 0;
}
