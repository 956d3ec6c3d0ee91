/* getcpu follows sched_setaffinity, through the system call and the vDSO
   (glibc's sched_getcpu), and /proc/self/maps lists the vsyscall page. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int pinned = -1;

static void *in_thread(void *arg)
{
    cpu_set_t set;
    sched_getaffinity(0, sizeof set, &set);
    unsigned cpu = 99;
    syscall(SYS_getcpu, &cpu, 0, 0);
    printf("thread: inherited %d, getcpu %d\n", CPU_ISSET(pinned, &set) && CPU_COUNT(&set) == 1,
           cpu == (unsigned)pinned);
    return arg;
}

int main(void)
{
    int n = sysconf(_SC_NPROCESSORS_ONLN);
    for (int c = n - 1; c >= 0; c--) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(c, &set);
        if (sched_setaffinity(0, sizeof set, &set))
            continue;
        unsigned cpu = 99, node = 99;
        syscall(SYS_getcpu, &cpu, &node, 0);
        printf("on %d: syscall %u node %u, sched_getcpu %d\n", c == n - 1 ? 1 : 0, cpu == c,
               node, sched_getcpu() == c);
        if (pinned < 0) {
            pthread_t th;
            pinned = c;
            fflush(stdout);
            pthread_create(&th, 0, in_thread, 0);
            pthread_join(th, 0);
        }
    }
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    while (fgets(line, sizeof line, f))
        if (strstr(line, "[vsyscall]"))
            fputs(line, stdout);
    return 0;
}
