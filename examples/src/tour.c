/* The program sysgate ships so its first command needs no compiler: a short
 * tour of the kernel crossings a real program makes. Built static by the
 * Makefile here for x86-64 (musl) and i386 (glibc). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    struct utsname u;
    struct timespec ts;
    struct stat st;

    printf("Hello from a %zu-bit guest.\n", sizeof(void *) * 8);
    if (uname(&u) == 0)
        printf("uname: %s %s\n", u.sysname, u.machine);
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
        printf("clock_gettime(CLOCK_MONOTONIC) works: %s\n", ts.tv_sec >= 0 ? "yes" : "no");
    printf("getpid() > 0: %s\n", getpid() > 0 ? "yes" : "no");
    printf("stat(\"/\") is a directory: %s\n",
           stat("/", &st) == 0 && S_ISDIR(st.st_mode) ? "yes" : "no");
    for (int i = 1; i < argc; i++)
        printf("argument %d: %s\n", i, argv[i]);
    return 0;
}
