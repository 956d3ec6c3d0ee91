/* A thread blocked in msgrcv, then in semop, while another thread of the
 * process runs and wakes it: a blocked IPC call holds up no other thread. */
#include <pthread.h>
#include <stdio.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <unistd.h>

static int q, s;

static void *waiter(void *arg)
{
    (void)arg;
    struct { long t; char x[8]; } m;
    long n = msgrcv(q, &m, sizeof m.x, 0, 0);
    printf("thread got %ld '%s'\n", n, m.x);
    struct sembuf op = {0, -1, 0};
    printf("thread semop %d\n", semop(s, &op, 1));
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    q = msgget(IPC_PRIVATE, 0600);
    s = semget(IPC_PRIVATE, 1, 0600);
    pthread_t th;
    pthread_create(&th, NULL, waiter, NULL);
    usleep(200000);
    struct { long t; char x[8]; } m = {1, "hi"};
    int sent = msgsnd(q, &m, 3, 0);
    usleep(200000);
    struct sembuf op = {0, 1, 0};
    semop(s, &op, 1);
    pthread_join(th, NULL);
    printf("main sent %d\n", sent);
    msgctl(q, IPC_RMID, NULL);
    semctl(s, 0, IPC_RMID);
    printf("done\n");
    return 0;
}
