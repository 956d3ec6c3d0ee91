/* chdir and fchdir need search permission on the directory itself
 * (LTP fchdir03): checked as an unprivileged user. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
    mkdir("noexec", 0666);
    chmod("noexec", 0666);
    mkdir("ok", 0777);
    chmod("ok", 0777);
    int fd = open("noexec", O_RDONLY | O_DIRECTORY);
    int fd2 = open("ok", O_RDONLY | O_DIRECTORY);
    if (getuid() == 0 && setuid(65534) < 0)
        perror("setuid");
    int r = fchdir(fd);
    printf("fchdir noexec %d errno %d\n", r, r < 0 ? errno : 0);
    r = chdir("noexec");
    printf("chdir noexec %d errno %d\n", r, r < 0 ? errno : 0);
    r = fchdir(fd2);
    printf("fchdir ok %d\n", r);
    r = chdir("..");
    printf("chdir .. %d\n", r);
    return 0;
}
