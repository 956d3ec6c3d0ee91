/* pthread_cancel: a thread blocked in pause(), one spinning with asynchronous
   cancellation (glibc and musl cancel by signal), one in sleep() with a
   cleanup handler. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static void *blocker(void *a){ for(;;) pause(); }
static void *spinner(void *a){ pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS,0); for(;;); }
static void cleanup(void *a){ puts("cleanup ran"); }
static void *withcleanup(void *a){ pthread_cleanup_push(cleanup,0); for(;;) sleep(1); pthread_cleanup_pop(0); return 0; }
int main(){ pthread_t t; void *r;
 pthread_create(&t,0,blocker,0); pthread_cancel(t); pthread_join(t,&r); printf("blocker canceled %d\n", r==PTHREAD_CANCELED);
 pthread_create(&t,0,spinner,0); usleep(10000); pthread_cancel(t); pthread_join(t,&r); printf("spinner canceled %d\n", r==PTHREAD_CANCELED);
 pthread_create(&t,0,withcleanup,0); usleep(10000); pthread_cancel(t); pthread_join(t,&r); printf("cleanup canceled %d\n", r==PTHREAD_CANCELED);
 return 0; }
