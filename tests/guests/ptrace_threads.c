/* Threads of a traced process (strace -f, gdb): a thread made by the main
 * thread, one made by that thread, each making a few calls of its own, and
 * a last thread that ends the whole group with exit_group while the main
 * thread waits for it in pthread_join. */
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void say(const char *s) { write(1, s, strlen(s)); }

static void *inner(void *arg)
{
    say("inner\n");
    getppid();
    usleep(200000);     /* its maker is in pthread_join by then */
    return arg;
}

static void *outer(void *arg)
{
    pthread_t t;
    say("outer\n");
    pthread_create(&t, NULL, inner, NULL);
    pthread_join(t, NULL);
    say("outer joined\n");
    return arg;
}

static void *ender(void *arg)
{
    say("ender\n");
    usleep(200000);     /* the main thread is in pthread_join by then */
    syscall(SYS_exit_group, 3);
    return arg;
}

int main(void)
{
    pthread_t t;
    say("main\n");
    pthread_create(&t, NULL, outer, NULL);
    pthread_join(t, NULL);
    say("main joined\n");
    pthread_create(&t, NULL, ender, NULL);
    pthread_join(t, NULL);
    say("not reached\n");
    return 0;
}
