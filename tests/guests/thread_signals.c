/* Threads and signals: pthread_kill reaches exactly the named thread (the
   handler checks gettid), a process-directed signal goes to the one thread
   that does not block it, and a sigwait thread takes a signal every other
   thread blocks (the daemon pattern). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <unistd.h>
#include <sys/syscall.h>

static atomic_int handled_tid, target_tid, stop;

static void on_usr1(int sig) {
    atomic_store(&handled_tid, (int)syscall(SYS_gettid));
}

static void *spin(void *arg) {
    atomic_store(&target_tid, (int)syscall(SYS_gettid));
    while (!atomic_load(&stop))
        ;
    return 0;
}

static void *waiter(void *arg) {
    sigset_t set;
    int sig = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigwait(&set, &sig);
    return (void *)(long)sig;
}

static void *unblocked(void *arg) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &set, 0);
    atomic_store(&target_tid, (int)syscall(SYS_gettid));
    while (!atomic_load(&handled_tid))
        ;
    return 0;
}

int main(void) {
    signal(SIGUSR1, on_usr1);
    pthread_t t;
    pthread_create(&t, 0, spin, 0);
    while (!atomic_load(&target_tid))
        ;
    pthread_kill(t, SIGUSR1);
    while (!atomic_load(&handled_tid))
        ;
    printf("pthread_kill handled in the target: %d\n",
           atomic_load(&handled_tid) == atomic_load(&target_tid));
    atomic_store(&stop, 1);
    pthread_join(t, 0);

    /* Every thread but one blocks SIGUSR1; kill() to the process. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, 0);
    atomic_store(&handled_tid, 0);
    atomic_store(&target_tid, 0);
    pthread_create(&t, 0, unblocked, 0);
    while (!atomic_load(&target_tid))
        ;
    kill(getpid(), SIGUSR1);
    pthread_join(t, 0);
    printf("kill() handled by the unblocking thread: %d\n",
           atomic_load(&handled_tid) == atomic_load(&target_tid));

    pthread_create(&t, 0, waiter, 0);
    kill(getpid(), SIGUSR2);
    void *r;
    pthread_join(t, &r);
    printf("sigwait thread got signal %ld\n", (long)r);
    return 0;
}
