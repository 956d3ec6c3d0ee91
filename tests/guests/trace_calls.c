/* A fixed sequence of system calls for the trace tests to recognise. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    const char msg[] = "traced line\n";
    write(1, msg, strlen(msg));
    int fd = open("/definitely/not/here", O_RDONLY);
    if (fd >= 0)
        return 1;
    fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    write(fd, "abc", 3);
    close(fd);
    return getpid() > 0 ? 7 : 1;
}
