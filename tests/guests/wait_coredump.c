/* A child killed by a core-dumping signal: is it reported with WCOREDUMP
   (and CLD_DUMPED by waitid)? The answer depends on the child's
   RLIMIT_CORE, its dumpable flag, its cwd and the host's core_pattern,
   the same natively and under sysgate when run in the same directory. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void child(int mode)
{
    struct rlimit rl;
    getrlimit(RLIMIT_CORE, &rl);
    rl.rlim_cur = mode == 0 ? 0 : rl.rlim_max;
    setrlimit(RLIMIT_CORE, &rl);
    if (mode == 2)
        prctl(PR_SET_DUMPABLE, 0);
    if (mode == 3 && chdir("/proc") < 0)
        _exit(3);
    if (mode == 4) {
        signal(SIGSEGV, SIG_IGN);      /* a fault's SIGSEGV is forced anyway */
        *(volatile int *)8 = 1;
    }
    if (mode == 5)
        raise(SIGTERM);                /* no core for that one */
    if (mode == 6)
        raise(SIGQUIT);
    abort();
}

int main(void)
{
    for (int mode = 0; mode <= 6; mode++) {
        pid_t pid = fork();
        if (pid == 0)
            child(mode);
        int st;
        if (mode & 1) {
            siginfo_t si;
            memset(&si, 0, sizeof si);
            waitid(P_PID, pid, &si, WEXITED);
            printf("mode %d: waitid code %d status %d\n", mode, si.si_code, si.si_status);
        } else {
            waitpid(pid, &st, 0);
            printf("mode %d: signaled %d sig %d core %d\n", mode, WIFSIGNALED(st),
                   WTERMSIG(st), WCOREDUMP(st) ? 1 : 0);
        }
        unlink("core");
    }
    return 0;
}
