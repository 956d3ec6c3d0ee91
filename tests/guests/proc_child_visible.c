/* A forked child's /proc/<pid> is there from the moment fork returns in the
 * parent: its stat, status and cmdline read at once, many times over, name
 * the child (LTP's TST_PROCESS_STATE_WAIT reads it so). A child that exec'd
 * shows its new name and a child that exited shows state Z until it is
 * reaped. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int read_file(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    size_t got = fread(buf, 1, n - 1, f);
    buf[got] = 0;
    fclose(f);
    return (int)got;
}

/* "pid (comm) S ppid": the fields every reader takes from stat */
static int check_stat(pid_t pid, const char *comm, int want_zombie)
{
    char path[64], buf[1024], name[64];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int r = read_file(path, buf, sizeof buf);
    if (r < 0) {
        printf("read %s: errno %d\n", "/proc/<child>/stat", -r);
        return 1;
    }
    int p, pp;
    char state;
    if (sscanf(buf, "%d (%63[^)]) %c %d", &p, name, &state, &pp) != 4) {
        printf("unparsable stat\n");
        return 1;
    }
    if (p != pid || pp != getpid() || strcmp(name, comm)) {
        printf("stat names pid %s, ppid %s, comm %s\n", p == pid ? "ok" : "wrong",
               pp == getpid() ? "ok" : "wrong", name);
        return 1;
    }
    if (want_zombie && state != 'Z') {
        printf("state %c, not Z\n", state);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "sleeper")) {
        pause();
        return 0;
    }
    int bad = 0;
    prctl(PR_SET_NAME, "forkprobe");
    for (int i = 0; i < 60; i++) {
        int fds[2];
        if (pipe(fds))
            return 1;
        pid_t pid = fork();
        if (pid == 0) {
            char c;
            close(fds[1]);
            read(fds[0], &c, 1);
            _exit(0);
        }
        close(fds[0]);
        bad += check_stat(pid, "forkprobe", 0);
        char path[64], buf[256];
        snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
        int r = read_file(path, buf, sizeof buf);
        if (r <= 0 || strcmp(buf, argv[0])) {
            printf("cmdline of the child: %d\n", r);
            bad++;
        }
        snprintf(path, sizeof path, "/proc/%d/status", pid);
        r = read_file(path, buf, sizeof buf);
        if (r <= 0 || strncmp(buf, "Name:\tforkprobe\n", 16)) {
            printf("status of the child: %d\n", r);
            bad++;
        }
        close(fds[1]);
        if (i % 10 == 0) {
            /* exited, not yet reaped: a zombie, still in /proc */
            while (waitid(P_PID, pid, NULL, WEXITED | WNOWAIT) < 0 && errno == EINTR)
                ;
            bad += check_stat(pid, "forkprobe", 1);
        }
        waitpid(pid, NULL, 0);
        if (bad > 3)
            break;
    }
    /* a child that started another program shows it */
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "proc_child_visible", "sleeper", (char *)NULL);
        _exit(127);
    }
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    for (int i = 0; i < 2000; i++) {
        int r = read_file(path, buf, sizeof buf);
        if (r < 0) {
            printf("cmdline during exec: errno %d\n", -r);
            bad++;
            break;
        }
        if (r > 0 && !strcmp(buf + strlen(buf) + 1, "sleeper"))
            break;
        usleep(5000);
    }
    bad += check_stat(pid, "exe", 0);     /* comm: the name exec was given */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    printf("%s\n", bad ? "FAIL" : "ok: 60 children seen at once");
    return bad != 0;
}
