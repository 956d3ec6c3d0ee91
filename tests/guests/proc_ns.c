/* /proc/self/ns: one link per namespace ("time:[4026531834]"), the link's
 * number the inode of the nsfs file it opens, an fd of it reading the same
 * text in /proc/self/fd; setns with a namespace file of another type is
 * EINVAL. With an argument "enter": setns into the process's own time
 * namespace (root on Linux may; sysgate's guest holds no CAP_SYS_ADMIN). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define NSFS_MAGIC 0x6e736673

int main(int argc, char **argv)
{
    if (argc > 1) {
        int fd = open("/proc/self/ns/time_for_children", O_RDONLY);
        int r = setns(fd, CLONE_NEWTIME);
        printf("setns(own time) = %d errno %d\n", r, r ? errno : 0);
        return 0;
    }
    static const char *names[] = {"time", "time_for_children", "net", "ipc", "mnt", "user",
                                  "bogus", NULL};
    for (int i = 0; names[i]; i++) {
        char path[64], text[100], fdtext[100];
        snprintf(path, sizeof path, "/proc/self/ns/%s", names[i]);
        ssize_t n = readlink(path, text, sizeof text - 1);
        if (n < 0) {
            printf("%s: readlink errno %d\n", names[i], errno);
            continue;
        }
        text[n] = 0;
        struct stat l, s;
        if (lstat(path, &l) || stat(path, &s)) {
            printf("%s: stat errno %d\n", names[i], errno);
            continue;
        }
        char *num = strchr(text, '[');
        int ino_ok = num && (unsigned long)s.st_ino == strtoul(num + 1, NULL, 10);
        int fd = open(path, O_RDONLY);
        struct statfs sf;
        if (fd < 0 || fstatfs(fd, &sf)) {
            printf("%s: open errno %d\n", names[i], errno);
            continue;
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        n = readlink(path, fdtext, sizeof fdtext - 1);
        fdtext[n < 0 ? 0 : n] = 0;
        int other = strcmp(names[i], "net") ? CLONE_NEWNET : CLONE_NEWTIME;
        int r = setns(fd, other);
        int e = errno;
        printf("%s: link %.*s, lstat %s, stat %s, inode %s, fstatfs %s, fd link %s, "
               "setns(other type) %d errno %d\n",
               names[i], (int)(strchr(text, ':') ? strchr(text, ':') - text : 0), text,
               S_ISLNK(l.st_mode) ? "link" : "not a link", S_ISREG(s.st_mode) ? "file" : "other",
               ino_ok ? "matches" : "differs", sf.f_type == NSFS_MAGIC ? "nsfs" : "other",
               strcmp(fdtext, text) ? "differs" : "the same", r, r ? e : 0);
        close(fd);
    }
    DIR *d = opendir("/proc/self/ns");
    struct dirent *e;
    int count = 0, links = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            count++;
            links += e->d_type == DT_LNK;
        }
    closedir(d);
    printf("ns/ lists %d entries, %d links\n", count, links);
    int fd = open("/proc/self/ns/time/x", O_RDONLY);
    printf("below a link: %d errno %d\n", fd, fd < 0 ? errno : 0);
    return 0;
}
