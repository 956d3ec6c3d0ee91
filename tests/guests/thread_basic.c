/* Threads: create/join with __thread counters under a mutex, condition
   variable ping-pong, a busy-wait on a flag another thread sets, gettid and
   getpid, detach, semaphores and a barrier. Prints only what is the same
   on every run. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdatomic.h>
#include <unistd.h>
#include <sys/syscall.h>

static __thread int mine;
static long total;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void *count(void *arg) {
    for (int i = 0; i < 5000; i++) {
        mine++;
        pthread_mutex_lock(&m);
        total++;
        pthread_mutex_unlock(&m);
    }
    return (void *)(long)(mine * 10 + (int)(long)arg);
}

static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int turn, rounds;

static void *pong(void *arg) {
    pthread_mutex_lock(&m);
    for (int i = 0; i < 200; i++) {
        while (turn != 1)
            pthread_cond_wait(&cv, &m);
        turn = 0;
        rounds++;
        pthread_cond_signal(&cv);
    }
    pthread_mutex_unlock(&m);
    return 0;
}

static volatile int flag;
static atomic_int seen_tid_differs;

static void *setter(void *arg) {
    pid_t tid = syscall(SYS_gettid);
    if (tid != getpid())
        atomic_store(&seen_tid_differs, 1);
    for (volatile int i = 0; i < 100000; i++)
        ;
    flag = 1;
    return 0;
}

static sem_t sem;
static pthread_barrier_t bar;
static atomic_int after_barrier, xadd;

static void *barrier_worker(void *arg) {
    for (int i = 0; i < 1000; i++)
        atomic_fetch_add(&xadd, 1);
    pthread_barrier_wait(&bar);
    atomic_fetch_add(&after_barrier, 1);
    sem_post(&sem);
    return 0;
}

static void *detached(void *arg) {
    sem_post(&sem);
    return 0;
}

int main(void) {
    pthread_t th[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&th[i], 0, count, (void *)i);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        printf("counter %d returned %ld\n", i, (long)r);
    }
    printf("total %ld, main's own %d\n", total, mine);

    pthread_t p;
    pthread_create(&p, 0, pong, 0);
    pthread_mutex_lock(&m);
    for (int i = 0; i < 200; i++) {
        turn = 1;
        pthread_cond_signal(&cv);
        while (turn != 0)
            pthread_cond_wait(&cv, &m);
    }
    pthread_mutex_unlock(&m);
    pthread_join(p, 0);
    printf("ping-pong rounds %d\n", rounds);

    pthread_t s;
    pthread_create(&s, 0, setter, 0);
    while (!flag)
        ;
    pthread_join(s, 0);
    printf("flag seen, tid differs from pid: %d\n", atomic_load(&seen_tid_differs));

    sem_init(&sem, 0, 0);
    pthread_barrier_init(&bar, 0, 4);
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], 0, barrier_worker, 0);
    pthread_barrier_wait(&bar);
    for (int i = 0; i < 3; i++)
        sem_wait(&sem);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], 0);
    printf("barrier: %d after, xadd %d\n", atomic_load(&after_barrier), atomic_load(&xadd));

    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_create(&p, &a, detached, 0);
    sem_wait(&sem);
    printf("detached thread ran\n");
    return 0;
}
