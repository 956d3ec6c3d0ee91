/* A racy counter: four threads add without a lock (load, add, store with
   a yield-free window between), so the total depends on the interleaving.
   Under sysgate --seed N the interleaving, and so the total, repeats. */
#include <pthread.h>
#include <stdio.h>

static volatile long counter;

static void *add(void *arg) {
    for (int i = 0; i < 20000; i++) {
        long v = counter;
        for (volatile int k = 0; k < 3; k++)
            ;
        counter = v + 1;
    }
    return 0;
}

int main(void) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], 0, add, 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], 0);
    printf("total %ld\n", counter);
    return 0;
}
