/* execve from a thread that is not the leader, while the leader waits in
 * pthread_join: the other threads end, the caller takes the leader's tid
 * (ptrace: PTRACE_EVENT_EXEC under the leader's tid, the old tid in
 * GETEVENTMSG). The program run again with an argument says so and ends. */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

static char *self;

static void *worker(void *arg)
{
    char *argv[] = {self, "again", NULL};
    write(1, "worker\n", 7);
    /* The main thread is in pthread_join by then, its clone3 shown: an
     * execve at once could end it before strace read clone3's parent_tid
     * (native strace, loaded, then printed only its address). */
    usleep(200000);
    execv(self, argv);
    return arg;
}

int main(int argc, char **argv)
{
    pthread_t t;
    if (argc > 1) {
        write(1, "again\n", 6);
        return 5;
    }
    self = argv[0];
    pthread_create(&t, NULL, worker, NULL);
    pthread_join(t, NULL);
    return 0;
}
