/* Looks up the System V objects of the key given (argv[1]): found or not.
 * Under --root the guest has an IPC namespace of its own: the host's
 * objects are not there. With "make", it makes a queue of that key (which
 * the host must not see after the guest is gone). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

static void show(const char *what, int r)
{
    printf("%s: %s\n", what, r >= 0 ? "found" : errno == ENOENT ? "ENOENT" : strerror(errno));
}

int main(int argc, char **argv)
{
    key_t key = (key_t)strtol(argv[1], NULL, 0);
    show("msgget", msgget(key, 0));
    show("semget", semget(key, 0, 0));
    show("shmget", shmget(key, 0, 0));
    if (argc > 2) {
        int q = msgget(key, IPC_CREAT | 0600);
        struct msqid_ds ds;
        printf("made %d stat %d\n", q >= 0, msgctl(q, IPC_STAT, &ds));
    }
    return 0;
}
