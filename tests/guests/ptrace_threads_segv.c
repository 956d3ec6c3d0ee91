/* A threaded guest that faults in its second thread while the main thread
 * waits for it in pthread_join (gdb: info threads, bt). */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static volatile int *target;

static int __attribute__((noinline)) poke(int depth)
{
    if (depth > 0)
        return poke(depth - 1) + 1;
    return *target;
}

static void *worker(void *arg)
{
    usleep(200000);     /* the main thread is in pthread_join by then */
    return (void *)(long)poke((int)(long)arg);
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, (void *)2);
    pthread_join(t, NULL);
    puts("not reached");
    return 0;
}
