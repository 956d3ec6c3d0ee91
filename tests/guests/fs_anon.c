/* memfd_create (a file with no name: write, read back, mmap shared with a
 * child, seals, the name /proc shows, bad flags and a too-long name) and
 * inotify (create, modify, delete in a watched directory, a watch on a
 * file, IN_ONLYDIR on a file, a missing path, rm_watch). Run in an empty
 * directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHOW(what, call) do { errno = 0; long r_ = (long)(call); \
    printf("%-32s = %ld %s\n", what, r_, r_ < 0 ? strerror(errno) : ""); } while (0)

static void drain(int in) {
    char buf[4096] __attribute__((aligned(8)));
    ssize_t n = read(in, buf, sizeof buf);
    for (char *p = buf; n > 0 && p < buf + n;) {
        struct inotify_event *e = (struct inotify_event *)p;
        printf("  event wd+%d mask %#x name '%s'\n", e->wd, e->mask, e->len ? e->name : "");
        p += sizeof *e + e->len;
    }
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int m = memfd_create("sysgate-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    printf("memfd: %d, cloexec %d\n", m >= 0, fcntl(m, F_GETFD));
    SHOW("write", write(m, "memory file", 11));
    char buf[64] = {0};
    SHOW("pread", pread(m, buf, sizeof buf, 0));
    printf("  read back '%s'\n", buf);
    char link[128] = {0}, path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", m);
    readlink(path, link, sizeof link - 1);
    printf("  named '%s'\n", link);
    ftruncate(m, 4096);
    char *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
    pid_t c = fork();
    if (c == 0) {
        strcpy(shared, "written by the child");
        _exit(0);
    }
    waitpid(c, NULL, 0);
    printf("  parent sees '%s'\n", shared);
    SHOW("seal against growing", fcntl(m, F_ADD_SEALS, F_SEAL_GROW));
    SHOW("grow it", ftruncate(m, 8192));
    SHOW("bad flags", memfd_create("x", 0x100));
    char longname[300];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    SHOW("name too long", memfd_create(longname, 0));

    int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    mkdir("d", 0755);
    int wd = inotify_add_watch(in, "d", IN_CREATE | IN_MODIFY | IN_DELETE);
    printf("watch d: %d\n", wd > 0);
    int f = open("d/file", O_CREAT | O_WRONLY, 0644);
    write(f, "x", 1);
    close(f);
    unlink("d/file");
    drain(in);
    SHOW("nothing more", read(in, buf, sizeof buf));
    close(open("plain", O_CREAT | O_WRONLY, 0644));
    int wf = inotify_add_watch(in, "plain", IN_ATTRIB);
    chmod("plain", 0600);
    drain(in);
    SHOW("IN_ONLYDIR on a file", inotify_add_watch(in, "plain", IN_ATTRIB | IN_ONLYDIR));
    SHOW("a missing path", inotify_add_watch(in, "missing", IN_ATTRIB));
    SHOW("rm_watch", inotify_rm_watch(in, wf));
    SHOW("rm_watch again", inotify_rm_watch(in, wf));
    SHOW("init1 bad flags", inotify_init1(1));
    return 0;
}
