/* A hostile guest with a proc file system mounted inside its root.
 *
 *   proc_attack inject MARKER   print our pid, read a host address from stdin
 *                               (the test gives the address of sysgate's own
 *                               libc write()), and write code that creates
 *                               MARKER there through /proc/self/mem; also
 *                               write it at an address taken from smaps.
 *   proc_attack look            maps, smaps, status, task/, fd/ of self
 *   proc_attack child           the same of a child guest (exec'd), and of
 *                               the parent from a forked child
 *   proc_attack sleeper         (the child) wait on stdin
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[1 << 20];

static int slurp(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -errno;
    int n = 0, r;
    while (n < (int)sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += r;
    buf[n] = 0;
    close(fd);
    return n;
}

/* Every name a maps-style text mentions that is not ours. */
static void foreign_names(const char *what, const char *self) {
    int bad = 0, lines = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strchr(line, '-') || strchr(line, ':') == line + strlen(line) - 1) continue;
        char *name = strchr(line, '/');
        if (strstr(line, " kB") || strncmp(line, "VmFlags", 7) == 0) continue;
        lines++;
        if (name && strcmp(name, self)) { printf("%s: foreign %s\n", what, name); bad++; }
        if (strstr(line, "python") || strstr(line, "libc.so") || strstr(line, "unicorn")) {
            printf("%s: host %s\n", what, line);
            bad++;
        }
    }
    printf("%s: %d mappings, %d foreign\n", what, lines, bad);
}

static const unsigned char SHELL[] = {
    0x48, 0x8d, 0x3d, 0x1d, 0, 0, 0,   /* lea rdi, [rip+path] */
    0xbe, 0x41, 0, 0, 0,               /* mov esi, O_WRONLY|O_CREAT */
    0xba, 0xa4, 0x01, 0, 0,            /* mov edx, 0644 */
    0xb8, 0x02, 0, 0, 0,               /* mov eax, open */
    0x0f, 0x05,                        /* syscall */
    0xb8, 0xe7, 0, 0, 0,               /* mov eax, exit_group */
    0xbf, 0x63, 0, 0, 0,               /* mov edi, 99 */
    0x0f, 0x05,                        /* syscall */
};

static int inject(const char *marker) {
    unsigned char code[4096];
    memcpy(code, SHELL, sizeof SHELL);
    strcpy((char *)code + sizeof SHELL, marker);
    size_t len = sizeof SHELL + strlen(marker) + 1;
    printf("pid %d\n", getpid());
    fflush(stdout);
    char line[64] = {0};
    if (read(0, line, sizeof line - 1) <= 0) return 2;
    unsigned long host = strtoul(line, NULL, 16);

    int n = slurp("/proc/self/smaps");
    printf("smaps read: %d\n", n > 0);
    char *ours = NULL;
    unsigned long lo = 0, hi = 0;
    for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
        if (strstr(l, "rw-p") && strstr(l, "[stack]")) { sscanf(l, "%lx-%lx", &lo, &hi); ours = l; }
    int fd = open("/proc/self/mem", O_RDWR);
    printf("open mem: %s\n", fd >= 0 ? "ok" : strerror(errno));
    errno = 0;
    ssize_t r = pwrite(fd, code, len, (off_t)host);
    printf("write at sysgate's write(): %zd %s\n", r, r < 0 ? strerror(errno) : "");
    errno = 0;
    r = pread(fd, code, 16, (off_t)host);
    printf("read at sysgate's write(): %zd %s\n", r, r < 0 ? strerror(errno) : "");
    if (ours) {
        /* the bottom of our own stack, an address smaps gave us */
        unsigned long at = lo + 64;
        r = pwrite(fd, SHELL, sizeof SHELL, (off_t)at);
        printf("write at smaps [stack]: %zd ours %d\n", r,
               memcmp((void *)at, SHELL, sizeof SHELL) == 0);
    }
    for (int i = 0; i < 20; i++) write(1, "", 0), getpid();
    printf("still here\n");
    return 0;
}

static void look(const char *self) {
    char path[256];
    if (slurp("/proc/self/maps") > 0) foreign_names("maps", self);
    if (slurp("/proc/self/smaps") > 0) foreign_names("smaps", self);
    slurp("/proc/self/status");
    char *name = strstr(buf, "Name:"), *vm = strstr(buf, "VmSize:"), *th = strstr(buf, "Threads:");
    printf("status %.*s", (int)(strchr(name, '\n') - name + 1), name);
    printf("status %.*s", (int)(strchr(th, '\n') - th + 1), th);
    printf("status VmSize below 64 MB: %d\n", vm && atol(vm + 7) < 65536);
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int tasks = 0;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            tasks++;
            printf("task is self: %d\n", atoi(e->d_name) == getpid());
            snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
            slurp(path);
            printf("task comm %s", buf);
            snprintf(path, sizeof path, "/proc/self/task/%s/maps", e->d_name);
            if (slurp(path) > 0) foreign_names("task maps", self);
        }
    if (d) closedir(d);
    printf("tasks %d\n", tasks);
    d = opendir("/proc/self/fd");
    int fds = 0;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') fds++;
    if (d) closedir(d);
    printf("fds listed %d\n", fds);
    int reach = 0;
    for (int n = 3; n < 1024; n++) {
        snprintf(path, sizeof path, "/proc/self/fd/%d", n);
        int fd = open(path, O_RDONLY);
        if (fd >= 0) { reach++; close(fd); }
        if (fcntl(n, F_GETFD) >= 0) reach++;
    }
    printf("other fds reachable %d\n", reach);
    /* descriptors of sysgate's own process, by its host numbers */
    printf("fdinfo/5: %s\n", slurp("/proc/self/fdinfo/5") < 0 ? "absent" : "present");
    int m = open("/proc/self/task/", O_RDONLY | O_DIRECTORY);
    char rel[64];
    snprintf(rel, sizeof rel, "%d/mem", getpid());
    int mem = openat(m, rel, O_RDONLY);
    static volatile long probe = 0x1122334455667788L;
    long got = 0;
    pread(mem, &got, sizeof got, (off_t)(uintptr_t)&probe);
    printf("task mem reads ours: %d\n", got == probe);
    printf("pagemap: %s\n", open("/proc/self/pagemap", O_RDONLY) < 0 ? strerror(errno) : "opened");
    printf("sys write: %s\n",
           open("/proc/sys/kernel/hostname", O_WRONLY) < 0 ? strerror(errno) : "opened");
    printf("kcore: %s\n", open("/proc/kcore", O_RDONLY) < 0 ? strerror(errno) : "opened");
    printf("cpuinfo: %d\n", slurp("/proc/cpuinfo") > 0);
    printf("pid 1: %s\n", open("/proc/1/cmdline", O_RDONLY) < 0 ? strerror(errno) : "opened");
    printf("ppid: %s\n", access("/proc/self/../1", F_OK) < 0 ? strerror(errno) : "exists");
    /* up from a magic link and from the proc root */
    printf("root/..: %s\n", slurp("/proc/self/root/../etc/hostname") < 0 ? "absent" : buf);
    printf("cwd/..: %d\n", slurp("/proc/self/cwd/../../etc/passwd") > 0);
}

static void other(pid_t pid, const char *who) {
    char path[64], link[256];
    const char *files[] = {"cmdline", "comm", "status", "stat", "maps", "mem", "smaps", "environ",
                           "fd", 0};
    for (int i = 0; files[i]; i++) {
        snprintf(path, sizeof path, "/proc/%d/%s", pid, files[i]);
        int n = slurp(path);
        if (n < 0) { printf("%s %s: %s\n", who, files[i], strerror(-n)); continue; }
        if (!strcmp(files[i], "cmdline"))
            for (int k = 0; k < n; k++) if (!buf[k]) buf[k] = ' ';
        if (!strcmp(files[i], "status")) *strchr(buf, '\n') = 0;
        if (!strcmp(files[i], "stat")) *strchr(buf, ')') = 0, memmove(buf, strchr(buf, '('), 40);
        printf("%s %s: %.300s\n", who, files[i], buf);
    }
    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    int n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    printf("%s exe: %s\n", who, n > 0 ? link : strerror(errno));
}

static int child(const char *self) {
    int p[2], q[2];
    pipe(p);
    pipe(q);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(q[0], 0);
        close(p[0]); close(p[1]); close(q[0]); close(q[1]);
        execl(self, "proc_attack", "sleeper", "extra-arg", (char *)0);
        _exit(127);
    }
    close(p[1]);
    close(q[0]);
    char c;
    read(p[0], &c, 1);          /* the child has exec'd */
    other(pid, "child");
    pid_t k = fork();
    if (k == 0) {
        other(getppid(), "parent");
        fflush(stdout);
        _exit(0);
    }
    waitpid(k, NULL, 0);
    close(q[1]);
    int st;
    waitpid(pid, &st, 0);
    printf("child exit %d\n", WEXITSTATUS(st));
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", pid);
    printf("reaped child: %s\n", slurp(path) < 0 ? "ENOENT" : "still there");
    return 0;
}

/* Every route into a proc: a symlink, a second proc mount, a bind mount of
 * proc's sys/, a dirfd or cwd inside proc, '..', /dev/fd. Each line says
 * whose view it got. */
static const char *whose(const char *path) {
    if (slurp(path) < 0) return strerror(errno);
    char *name = strstr(buf, "Name:");
    if (name && strstr(name, "proc_attack")) return "guest";
    if (strstr(buf, "python") || strstr(buf, "sysgate")) return "HOST";
    return "other";
}

static void routes(void) {
    char path[128];
    printf("symlink: %s\n", whose("/selflink/status"));
    printf("altproc: %s\n", whose("/altproc/self/status"));
    printf("altproc pid: %s\n", (snprintf(path, sizeof path, "/altproc/%d/status", getpid()),
                                  whose(path)));
    printf("altproc smaps: %s\n", slurp("/altproc/self/smaps") > 0 && !strstr(buf, "python")
                                   ? "guest" : "HOST");
    printf("bind sys: %s\n", slurp("/binds/kernel/ostype") > 0 ? buf : strerror(errno));
    printf("bind sys write: %s\n",
           open("/binds/kernel/hostname", O_WRONLY) < 0 ? strerror(errno) : "opened");
    printf("dotdot: %s\n", whose("/proc/self/../self/status"));
    printf("dotdot2: %s\n", whose("/etc/../proc/./self/status"));
    int d = open("/proc", O_RDONLY | O_DIRECTORY);
    printf("dirfd: %s\n", (slurp("/dev/null"), openat(d, "self/status", O_RDONLY) >= 0 ? "ok" : "no"));
    int fd = openat(d, "self/status", O_RDONLY);
    int n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("dirfd view: %s\n", strstr(buf, "proc_attack") ? "guest" : "HOST");
    fchdir(d);
    printf("fchdir: %s\n", whose("self/status"));
    printf("fchdir ..: %s\n", whose("../etc/hostname") == strerror(ENOENT) ? "ENOENT"
                                                                          : buf);
    chdir("/proc/self/task");
    char cwd[256];
    printf("getcwd: %s\n", getcwd(cwd, sizeof cwd) ? (strstr(cwd, "/proc/") ? "proc" : cwd) : "?");
    snprintf(path, sizeof path, "%d/status", getpid());
    printf("cwd in task: %s\n", whose(path));
    chdir("/");
    printf("relative from /: %s\n", whose("proc/self/status"));
    printf("devfd: %s\n", (fd = open("/dev/fd/0", O_RDONLY)) >= 0 ? "ok" : strerror(errno));
    int sub = open("/etc", O_RDONLY | O_DIRECTORY);
    snprintf(path, sizeof path, "/proc/self/fd/%d/../etc/hostname", sub);
    printf("fd/N/..: %s\n", slurp(path) > 0 ? buf : strerror(errno));
    printf("mkdir in proc: %s\n", mkdir("/proc/self/x", 0755) < 0 ? strerror(errno) : "made");
    printf("unlink in proc: %s\n", unlink("/proc/self/fd/0") < 0 ? strerror(errno) : "done");
    printf("creat in proc: %s\n",
           open("/proc/newfile", O_CREAT | O_WRONLY, 0644) < 0 ? strerror(errno) : "made");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2) return 2;
    if (!strcmp(argv[1], "inject")) return inject(argv[2]);
    if (!strcmp(argv[1], "look")) { look(argv[2]); return 0; }
    if (!strcmp(argv[1], "child")) return child(argv[2]);
    if (!strcmp(argv[1], "routes")) { routes(); return 0; }
    if (!strcmp(argv[1], "sleeper")) {
        write(1, "r", 1);
        char c;
        read(0, &c, 1);
        return 7;
    }
    return 2;
}
