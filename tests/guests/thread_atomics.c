/* C11 atomics from four threads: fetch_add (lock xadd), a compare-exchange
   loop (lock cmpxchg) and 64-bit counters (cmpxchg8b on i386), long enough
   that threads are preempted in the middle of their loops many times. The
   totals are exact only if no instruction runs twice or half. Then a
   thread blocked in read() and one in sleep() while the main thread takes
   a SIGALRM and exits. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define N 150000
static atomic_int xadd;
static atomic_int cas;
static _Atomic uint64_t wide;

static void *work(void *arg) {
    for (int i = 0; i < N; i++) {
        atomic_fetch_add(&xadd, 1);
        int v = atomic_load(&cas);
        while (!atomic_compare_exchange_weak(&cas, &v, v + 2))
            ;
        atomic_fetch_add(&wide, 0x100000001ull);
    }
    return 0;
}

static int fds[2];
static void *reader(void *a) { char c; read(fds[0], &c, 1); return 0; }
static void *sleeper(void *a) { sleep(100); return 0; }
static void on_alrm(int s) { write(1, "alarm in main\n", 14); }

int main(void) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], 0, work, 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], 0);
    printf("xadd %d cas %d wide %llx\n", atomic_load(&xadd), atomic_load(&cas),
           (unsigned long long)atomic_load(&wide));
    fflush(stdout);
    pipe(fds);
    pthread_create(&t[0], 0, reader, 0);
    pthread_create(&t[1], 0, sleeper, 0);
    signal(SIGALRM, on_alrm);
    alarm(1);
    pause();
    printf("after pause\n");
    exit(4);
}
