/* How a threaded process ends: a fault in a second thread kills it with
   SIGSEGV; exit() from a thread ends every thread with that status; the
   main thread's pthread_exit leaves the others running to the end. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *fault(void *arg) {
    *(volatile int *)8 = 1;
    return 0;
}

static void *quit(void *arg) {
    printf("thread calls exit(3)\n");
    fflush(stdout);
    exit(3);
}

static void *last(void *arg) {
    usleep(20000);
    printf("last thread done\n");
    return 0;
}

static void *forever(void *arg) {
    for (;;)
        pause();
}

int main(int argc, char **argv) {
    pthread_t t;
    const char *mode = argc > 1 ? argv[1] : "fault";
    if (strcmp(mode, "pthread_exit"))
        pthread_create(&t, 0, forever, 0);
    if (!strcmp(mode, "fault")) {
        pthread_create(&t, 0, fault, 0);
        pthread_join(t, 0);
    } else if (!strcmp(mode, "exit")) {
        pthread_create(&t, 0, quit, 0);
        pthread_join(t, 0);
    } else if (!strcmp(mode, "pthread_exit")) {
        pthread_t l;
        pthread_create(&l, 0, last, 0);
        pthread_detach(l);
        printf("main leaves\n");
        fflush(stdout);
        pthread_exit(0);
    }
    printf("not reached\n");
    return 1;
}
