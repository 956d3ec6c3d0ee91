/* Where Linux refuses and sysgate once did not: madvise on locked, file
   and shared mappings (LTP madvise02), mprotect(PROT_WRITE) of /dev/zero
   mapped shared from a read-only fd (LTP mprotect01), and mount/umount's
   order of checks for a caller without CAP_SYS_ADMIN. Run in a scratch
   directory (it writes ./lm_file). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MADV_FREE
#define MADV_FREE 8
#endif
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif
#ifndef MADV_COLD
#define MADV_COLD 20
#endif

static void show(const char *what, long r)
{
    printf("%-28s %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

int main(void)
{
    long pg = getpagesize();
    int fd = open("lm_file", O_RDWR | O_CREAT | O_TRUNC, 0600);
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    for (int i = 0; i < 4; i++)
        write(fd, buf, sizeof buf);
    char *shared = mmap(0, 4 * pg, PROT_READ, MAP_SHARED, fd, 0);
    char *priv = mmap(0, 4 * pg, PROT_READ, MAP_PRIVATE, fd, 0);
    char *sanon = mmap(0, pg, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char *anon = mmap(0, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    show("free file", madvise(shared, pg, MADV_FREE));
    show("free private file", madvise(priv, pg, MADV_FREE));
    show("free shared anon", madvise(sanon, pg, MADV_FREE));
    show("free anon", madvise(anon, pg, MADV_FREE));
    show("wipeonfork shared anon", madvise(sanon, pg, MADV_WIPEONFORK));
    show("wipeonfork private file", madvise(priv, pg, MADV_WIPEONFORK));
    show("wipeonfork anon", madvise(anon, pg, MADV_WIPEONFORK));
    show("remove private anon", madvise(anon, pg, MADV_REMOVE));
    show("remove private file", madvise(priv, pg, MADV_REMOVE));
    show("mlock file", mlock(shared, 2 * pg));
    show("dontneed locked", madvise(shared, pg, MADV_DONTNEED));
    show("remove locked", madvise(shared, pg, MADV_REMOVE));
    show("cold locked", madvise(shared + pg, pg, MADV_COLD));
    show("dontneed past the lock", madvise(shared + 2 * pg, pg, MADV_DONTNEED));
    show("munlock", munlock(shared, pg));
    show("dontneed unlocked", madvise(shared, pg, MADV_DONTNEED));
    show("dontneed still locked", madvise(shared + pg, pg, MADV_DONTNEED));
    anon[0] = 1;
    show("mlock anon", mlock(anon, pg));
    show("munmap anon", munmap(anon, pg));
    char *again = mmap(anon, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    show("dontneed remapped", madvise(again, pg, MADV_DONTNEED));

    int zero = open("/dev/zero", O_RDONLY);
    char *z = mmap(0, pg, PROT_READ, MAP_SHARED, zero, 0);
    show("mprotect ro /dev/zero", mprotect(z, pg, PROT_WRITE));
    show("mprotect ro /dev/zero read", mprotect(z, pg, PROT_READ | PROT_EXEC));
    int zrw = open("/dev/zero", O_RDWR);
    char *z2 = mmap(0, pg, PROT_READ, MAP_SHARED, zrw, 0);
    show("mprotect rw /dev/zero", mprotect(z2, pg, PROT_WRITE));

    /* Without the capability: setuid drops it. */
    if (setuid(65534) < 0)
        perror("setuid");
    show("mount bad type", mount("none", "/tmp", (char *)8, 0, 0));
    show("mount bad source", mount((char *)8, "/tmp", "tmpfs", 0, 0));
    show("mount bad data", mount("none", "/tmp", "tmpfs", 0, (void *)8));
    show("mount bad target", mount("none", (char *)8, "tmpfs", 0, 0));
    show("mount missing target", mount("none", "/no/such/dir", "tmpfs", 0, 0));
    show("mount NULL all", mount(0, "/tmp", 0, 0, 0));
    show("mount MS_NOUSER", mount("none", "/tmp", "tmpfs", MS_NOUSER, 0));
    show("mount", mount("none", "/tmp", "tmpfs", 0, 0));
    show("umount2 bad flags", umount2("/tmp", 0x100));
    show("umount2 missing", umount2("/no/such/dir", 0));
    show("umount2 bad path", umount2((char *)8, 0));
    show("umount2", umount2("/tmp", MNT_DETACH));
    return 0;
}
