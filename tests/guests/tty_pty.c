/* A pseudo-terminal as terminal programs use one: open, unlock, name the
 * peer, terminal attributes, window size, data both ways, the descriptor
 * flags set by ioctl. With "sti" as argv[1] it tries to push input into
 * the terminal (TIOCSTI), which only sysgate is asked to refuse. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
static void show(const char *what, long r) {
    if (r < 0) printf("%s = -1 errno %d\n", what, errno); else printf("%s = %ld\n", what, r);
}
int main(int argc, char **argv) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (argc > 1) {
        char c = 'x';
        show("TIOCSTI", ioctl(m, TIOCSTI, &c));
        return 0;
    }
    show("posix_openpt", m >= 0 ? 0 : -1);
    show("grantpt", grantpt(m));
    show("unlockpt", unlockpt(m));
    char *name = ptsname(m);
    printf("ptsname %s\n", name ? "/dev/pts/N" : "NULL");
    int s = open(name, O_RDWR | O_NOCTTY);
    show("open slave", s >= 0 ? 0 : -1);
    struct termios tio;
    show("tcgetattr", tcgetattr(s, &tio));
    cfmakeraw(&tio);
    show("tcsetattr", tcsetattr(s, TCSANOW, &tio));
    struct winsize ws = {24, 80, 0, 0};
    show("TIOCSWINSZ", ioctl(m, TIOCSWINSZ, &ws));
    memset(&ws, 0, sizeof ws);
    show("TIOCGWINSZ", ioctl(s, TIOCGWINSZ, &ws));
    printf("  %d x %d\n", ws.ws_row, ws.ws_col);
    show("write master", write(m, "hello\n", 6));
    char buf[32] = {0};
    show("read slave", read(s, buf, sizeof buf));
    printf("  '%s'\n", buf);
    show("write slave", write(s, "back", 4));
    memset(buf, 0, sizeof buf);
    show("read master", read(m, buf, sizeof buf));
    printf("  '%s'\n", buf);
    int n;
    show("FIONREAD", ioctl(m, FIONREAD, &n));
    show("isatty(slave)", isatty(s));
    show("ttyname ok", ttyname(s) ? 0 : -1);
    show("FIOCLEX", ioctl(s, FIOCLEX));
    show("F_GETFD", fcntl(s, F_GETFD));
    show("FIONCLEX", ioctl(s, FIONCLEX));
    show("F_GETFD", fcntl(s, F_GETFD));
#ifdef TIOCGPTPEER
    int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    show("TIOCGPTPEER", peer >= 0 ? 0 : -1);
    show("peer is a tty", isatty(peer));
    show("peer F_GETFD", fcntl(peer, F_GETFD));
#endif
    show("TCFLSH", ioctl(s, TCFLSH, TCIOFLUSH));
    show("TIOCGWINSZ(bad ptr)", ioctl(s, TIOCGWINSZ, (void *)8));
    int nul = open("/dev/null", O_RDONLY);
    show("TCGETS on /dev/null", ioctl(nul, TCGETS, &tio));
    show("unknown ioctl", ioctl(s, 0x12345678, 0));
    return 0;
}
