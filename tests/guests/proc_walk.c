/* Every entry of the guest's /proc, opened every way: no call may end in
 * anything but a result or an errno (sysgate's internal errors fail the
 * run). Prints a count per outcome, to show the walk happened. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int opened, refused, entries;
static char buf[1 << 16];

static void poke(const char *path, int depth) {
    struct stat st;
    entries++;
    lstat(path, &st);
    stat(path, &st);
    readlink(path, buf, sizeof buf);
    access(path, R_OK | W_OK);
    const int modes[] = {O_RDONLY, O_WRONLY, O_RDWR, O_PATH, O_RDONLY | O_DIRECTORY,
                         O_RDONLY | O_NOFOLLOW, O_PATH | O_NOFOLLOW};
    for (unsigned i = 0; i < sizeof modes / sizeof *modes; i++) {
        int fd = open(path, modes[i]);
        if (fd < 0) { refused++; continue; }
        opened++;
        if (!strstr(path, "/fd/") && (!strstr(path, "/mem") || i == 0)) read(fd, buf, 4096);
        fstat(fd, &st);
        syscall(SYS_getdents64, fd, buf, sizeof buf);
        lseek(fd, 0, SEEK_SET);
        syscall(SYS_getdents64, fd, buf, 1);
        int sub = openat(fd, "..", O_RDONLY);
        if (sub >= 0) close(sub);
        sub = openat(fd, "nonexistent", O_RDONLY);
        close(fd);
    }
    if (depth <= 0 || lstat(path, &st) || !S_ISDIR(st.st_mode)) return;
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    char names[256][64];
    int n = 0;
    while ((e = readdir(d)) && n < 256)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "net"))
            snprintf(names[n++], 64, "%s", e->d_name);
    closedir(d);
    for (int i = 0; i < n; i++) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s/%s", path, names[i]);
        poke(sub, depth - 1);
    }
}

int main(void) {
    char self[64];
    snprintf(self, sizeof self, "/proc/%d", getpid());
    poke(self, 3);
    snprintf(self, sizeof self, "/proc/%d/task/%d", getpid(), getpid());
    poke(self, 1);
    poke("/proc", 1);
    printf("walked: %d entries, %d opened, %d refused\n", entries > 50, opened > 50, refused > 10);
    return 0;
}
