/* /proc/self/task and the Threads: line of /proc/self/status count the
 * process's threads; a thread's own task directory is there. */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
static pthread_barrier_t b;
static void *run(void *a) { pthread_barrier_wait(&b); pthread_barrier_wait(&b); return a; }
int main(void) {
    pthread_barrier_init(&b, 0, 4);
    pthread_t th[3];
    for (int i = 0; i < 3; i++) pthread_create(&th[i], 0, run, 0);
    pthread_barrier_wait(&b);
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while ((e = readdir(d))) if (e->d_name[0] != '.') n++;
    closedir(d);
    printf("task entries %d\n", n);
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (fgets(line, sizeof line, f)) if (!strncmp(line, "Threads:", 8)) fputs(line, stdout);
    fclose(f);
    char p[64];
    snprintf(p, sizeof p, "/proc/self/task/%ld/comm", (long)syscall(SYS_gettid));
    f = fopen(p, "r");
    printf("own task dir readable %d\n", f != 0);
    if (f) fclose(f);
    pthread_barrier_wait(&b);
    for (int i = 0; i < 3; i++) pthread_join(th[i], 0);
    return 0;
}
