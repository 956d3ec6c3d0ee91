/* open's mode: only a creating open's permission bits count (a mode with
 * S_IFREG or higher bits set is not refused), and a mode given without
 * O_CREAT is ignored (LTP chown03 creates its file with 0100644). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *what, long r)
{
    printf("%s: %s %d\n", what, r < 0 ? "fail" : "ok", r < 0 ? errno : 0);
    if (r >= 0)
        close(r);
}

int main(void)
{
    struct stat st;
    umask(022);
    show("creat S_IFREG|0644", syscall(SYS_openat, AT_FDCWD, "om1", O_RDWR | O_CREAT, 0100644));
    stat("om1", &st);
    printf("mode %o\n", st.st_mode);
    show("rdonly, garbage mode", syscall(SYS_openat, AT_FDCWD, "om1", O_RDONLY, 0177777));
    show("creat, high bits", syscall(SYS_openat, AT_FDCWD, "om2", O_RDWR | O_CREAT, 0xFFFF0644));
    stat("om2", &st);
    printf("mode %o\n", st.st_mode);
    show("tmpfile S_IFREG|0600", syscall(SYS_openat, AT_FDCWD, ".", O_RDWR | O_TMPFILE, 0100600));
    unlink("om1");
    unlink("om2");
    return 0;
}
