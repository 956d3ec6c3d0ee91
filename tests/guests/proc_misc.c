/* Process and file calls older or rarer programs make: times, priorities
 * (getpriority/setpriority, nice, ioprio), personality, the utime family,
 * readahead, sync_file_range; each with its errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <unistd.h>
#include <utime.h>

static void show(const char *what, long r) {
    if (r < 0)
        printf("%s = -1 errno %d\n", what, errno);
    else
        printf("%s = %ld\n", what, r);
}

int main(int argc, char **argv) {
    if (argc > 1) {
        /* Only ever run under sysgate: a process outside the session. */
        int pid = atoi(argv[1]);
        show("getpriority(outside)", syscall(SYS_getpriority, PRIO_PROCESS, pid));
        show("setpriority(outside)", setpriority(PRIO_PROCESS, pid, 5));
        show("ioprio_get(outside)", syscall(SYS_ioprio_get, 1, pid));
        return 0;
    }
    struct tms tm;
    clock_t c = times(&tm);
    printf("times ok %d\n", c != (clock_t)-1);
    show("times(bad ptr)", syscall(SYS_times, (void *)8));

    show("getpriority(self) raw", syscall(SYS_getpriority, PRIO_PROCESS, 0));
    show("setpriority(self, 5)", setpriority(PRIO_PROCESS, 0, 5));
    show("getpriority(self) raw", syscall(SYS_getpriority, PRIO_PROCESS, 0));
    show("getpriority(bad which)", syscall(SYS_getpriority, 7, 0));
#ifdef SYS_nice
    show("nice(3)", syscall(SYS_nice, 3));
    show("getpriority(self) raw", syscall(SYS_getpriority, PRIO_PROCESS, 0));
#endif
    show("ioprio_get(self)", syscall(SYS_ioprio_get, 1, 0));
    show("ioprio_set(self, be 4)", syscall(SYS_ioprio_set, 1, 0, (2 << 13) | 4));
    show("ioprio_get(self)", syscall(SYS_ioprio_get, 1, 0));
    show("ioprio_get(bad which)", syscall(SYS_ioprio_get, 9, 0));

    show("personality(query)", personality(0xffffffff) & ~0x0400000);
    show("personality(ADDR_NO_RANDOMIZE)", personality(ADDR_NO_RANDOMIZE) & ~0x0400000);
    show("personality(query)", personality(0xffffffff) & ~0x0400000);
    show("personality(PER_LINUX)", personality(PER_LINUX) & ~0x0400000);

    char path[] = "/tmp/sysgate-misc-XXXXXX";
    int fd = mkstemp(path);
    write(fd, "0123456789", 10);
    struct utimbuf ub = {1000000, 2000000};
    show("utime", utime(path, &ub));
    struct stat st;
    stat(path, &st);
    printf("  atime %ld mtime %ld\n", (long)st.st_atime, (long)st.st_mtime);
    struct timeval tv[2] = {{3000000, 500000}, {4000000, 250000}};
    show("utimes", utimes(path, tv));
    stat(path, &st);
    printf("  atime %ld.%09ld mtime %ld.%09ld\n", (long)st.st_atime, st.st_atim.tv_nsec,
           (long)st.st_mtime, st.st_mtim.tv_nsec);
    tv[0].tv_usec = 1000000;
    show("utimes(bad usec)", utimes(path, tv));
    show("utimes(bad ptr)", syscall(SYS_utimes, path, (void *)8));
    show("utime(missing)", utime("/nonexistent/x", &ub));
    tv[0].tv_usec = 0;
    show("futimesat(AT_FDCWD)", syscall(SYS_futimesat, AT_FDCWD, path, tv));
    show("futimesat(bad dirfd)", syscall(SYS_futimesat, 77, "rel", tv));

    show("readahead", readahead(fd, 0, 4096));
    show("readahead(bad fd)", readahead(99, 0, 4096));
    show("sync_file_range", sync_file_range(fd, 0, 10, SYNC_FILE_RANGE_WRITE));
    show("sync_file_range(bad flags)", sync_file_range(fd, 0, 10, 0x80));
    show("sync_file_range(negative)", sync_file_range(fd, -1, 10, 0));
    unlink(path);
    return 0;
}
