/* A target for the gdb stub tests (tests/test_gdbstub.py): a function to
   break in, a variable to watch, a write to catch, and on request a fault,
   a raised signal, an exec of itself, a fork or a long sleep to interrupt. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int counter;

int square(int x)
{
    int y = x * x;
    counter += y;
    return y;
}

static void on_usr1(int sig)
{
    counter += 1000 + sig;
}

int main(int argc, char **argv)
{
    int total = 0;
    for (int i = 1; i <= 3; i++)
        total += square(i);
    char buf[64];
    int n = snprintf(buf, sizeof buf, "total %d\n", total);
    write(1, buf, n);
    if (argc > 1 && strcmp(argv[1], "segv") == 0) {
        volatile int *p = (int *)0x10;
        *p = total;
    }
    if (argc > 1 && strcmp(argv[1], "usr1") == 0) {
        signal(SIGUSR1, on_usr1);
        raise(SIGUSR1);
        n = snprintf(buf, sizeof buf, "counter %d\n", counter);
        write(1, buf, n);
    }
    if (argc > 2 && strcmp(argv[1], "exec") == 0) {
        char *again[] = {argv[2], NULL};
        execv(argv[2], again);
        return 127;
    }
    if (argc > 1 && strcmp(argv[1], "fork") == 0) {
        pid_t child = fork();
        n = snprintf(buf, sizeof buf, "%s %d\n", child ? "parent" : "child",
                     square(child ? 8 : 7));
        write(1, buf, n);
        if (child == 0)
            _exit(0);
        waitpid(child, NULL, 0);
    }
    if (argc > 1 && strcmp(argv[1], "sleepint") == 0) {
        /* With a SIGINT handler, a SIGINT that reaches it cuts the sleep
           short; one a debugger keeps from it lets the sleep restart. */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1;
        sigaction(SIGINT, &sa, NULL);
        unsigned left = sleep(2);
        n = snprintf(buf, sizeof buf, "%s counter %d\n", left ? "cut short" : "slept",
                     counter);
        write(1, buf, n);
    }
    if (argc > 1 && strcmp(argv[1], "sleep") == 0)
        sleep(30);
    if (argc > 1 && strcmp(argv[1], "spin") == 0)
        for (;;)
            counter++;
    return 0;
}
