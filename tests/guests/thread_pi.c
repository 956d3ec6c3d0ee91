/* A PTHREAD_PRIO_INHERIT mutex (glibc and musl use FUTEX_LOCK_PI and
   FUTEX_UNLOCK_PI for it) shared by four threads, trylock on a held one,
   and the error-checking answers for relocking and foreign unlocks. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t m;
static long total;

static void *work(void *arg) {
    for (int i = 0; i < 3000; i++) {
        pthread_mutex_lock(&m);
        total++;
        pthread_mutex_unlock(&m);
    }
    return 0;
}

static void *try_held(void *arg) {
    return (void *)(long)pthread_mutex_trylock(&m);
}

int main(void) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&m, &a);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], 0, work, 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], 0);
    printf("total %ld\n", total);
    pthread_mutex_lock(&m);
    printf("relock: %s\n", strerror(pthread_mutex_lock(&m)));
    void *r;
    pthread_create(&t[0], 0, try_held, 0);
    pthread_join(t[0], &r);
    printf("trylock from another thread: %s\n", strerror((int)(long)r));
    pthread_mutex_unlock(&m);
    return 0;
}
