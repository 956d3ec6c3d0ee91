/* Memory shared between processes and the futexes on it.
 *
 * MAP_SHARED|MAP_ANONYMOUS and shared /dev/zero memory stay shared after
 * fork (private memory does not); a process-shared mutex and semaphore
 * block a child until the parent lets go; FUTEX_WAKE counts the waiter of
 * another process; a shared wait times out, is interrupted by a signal from
 * the parent (EINTR without SA_RESTART), and a FUTEX_PRIVATE wait is not
 * woken by another process's shared wake. Each child reports through the
 * shared page; only the parent prints. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* <linux/futex.h>'s, which musl's headers lack */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_WAIT_PRIVATE 128

struct shared {
    pthread_mutex_t mutex;
    sem_t sem;
    volatile int flag;
    volatile int word;
    volatile long result;
    volatile int err;
    volatile int seen;
};

static void ms(int n) {
    struct timespec ts = {n / 1000, (n % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static long futex(volatile int *w, int op, int val, const struct timespec *ts) {
    long r = syscall(SYS_futex, w, op, val, ts, NULL, 0);
    return r < 0 ? -errno : r;
}

static void on_usr1(int s) { (void)s; }

static int status_of(pid_t pid) {
    int st;
    waitpid(pid, &st, 0);
    return st;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int zero = open("/dev/zero", O_RDWR);
    volatile int *z = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, zero, 0);
    volatile int *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED || z == MAP_FAILED || priv == MAP_FAILED)
        return 2;

    /* 1. Stores of a child. */
    pid_t pid = fork();
    if (pid == 0) {
        sh->flag = 11;
        z[100] = 12;
        priv[0] = 13;
        _exit(0);
    }
    status_of(pid);
    printf("child's stores: shared %d, /dev/zero %d, private %d\n", sh->flag, z[100], priv[0]);

    /* 2. A process-shared mutex. */
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&sh->mutex, &ma);
    pthread_mutex_lock(&sh->mutex);
    sh->flag = 0;
    pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(&sh->mutex);
        sh->seen = sh->flag;
        pthread_mutex_unlock(&sh->mutex);
        _exit(0);
    }
    ms(100);
    sh->flag = 1;
    pthread_mutex_unlock(&sh->mutex);
    status_of(pid);
    printf("mutex: child got it after the unlock: %d\n", sh->seen);

    /* 3. A process-shared semaphore. */
    sem_init(&sh->sem, 1, 0);
    sh->flag = 0;
    pid = fork();
    if (pid == 0) {
        sem_wait(&sh->sem);
        sh->seen = sh->flag;
        _exit(0);
    }
    ms(100);
    sh->flag = 2;
    sem_post(&sh->sem);
    status_of(pid);
    printf("semaphore: child passed after the post: %d\n", sh->seen);

    /* 4. FUTEX_WAKE wakes the other process's waiter, and says so. */
    sh->word = 0;
    pid = fork();
    if (pid == 0) {
        sh->result = futex(&sh->word, FUTEX_WAIT, 0, NULL);
        sh->seen = sh->word;
        _exit(0);
    }
    ms(100);
    sh->word = 1;
    long woken = futex(&sh->word, FUTEX_WAKE, 10, NULL);
    status_of(pid);
    printf("wake: woke %ld; the waiter got %ld and saw %d\n", woken, sh->result, sh->seen);

    /* 5. Nobody wakes: the timeout. */
    struct timespec t50 = {0, 50000000};
    sh->word = 0;
    printf("timeout: %ld\n", futex(&sh->word, FUTEX_WAIT, 0, &t50));
    printf("value changed: %ld\n", futex(&sh->word, FUTEX_WAIT, 5, &t50));

    /* 6. A signal from the parent ends the child's wait: EINTR. */
    pid = fork();
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1;
        sigaction(SIGUSR1, &sa, NULL);
        sh->flag = 3;
        sh->result = futex(&sh->word, FUTEX_WAIT, 0, NULL);
        _exit(0);
    }
    while (sh->flag != 3)
        ms(5);
    /* The child may still be on its way into the wait (a loaded machine):
     * a signal that came before it only ran the handler, so send again
     * until the wait has ended. */
    do {
        ms(100);
        kill(pid, SIGUSR1);
        ms(5);
    } while (waitpid(pid, NULL, WNOHANG) == 0);
    printf("signal: the wait returned %ld\n", sh->result);

    /* 7. A private wait is not woken by another process's shared wake. */
    struct timespec t300 = {0, 300000000};
    sh->flag = 0;
    pid = fork();
    if (pid == 0) {
        sh->flag = 4;
        sh->result = futex(&sh->word, FUTEX_WAIT_PRIVATE, 0, &t300);
        _exit(0);
    }
    while (sh->flag != 4)
        ms(5);
    ms(100);
    woken = futex(&sh->word, FUTEX_WAKE, 10, NULL);
    status_of(pid);
    printf("private: woke %ld, the private waiter got %ld\n", woken, sh->result);
    return 0;
}
