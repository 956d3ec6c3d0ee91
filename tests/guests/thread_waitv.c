/* futex_waitv between threads: woken on the second of two words, a value
   that differs, a timeout, and garbage (no waiters, a bad size, a bad clock). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
struct fw { uint64_t val, uaddr; uint32_t flags, res; };
static uint32_t a, b;
static void *waker(void *x){ usleep(20000); b = 1; syscall(SYS_futex, &b, 1|128, 1, 0, 0, 0); return 0; }
int main(){ struct fw w[2] = {{0,(uintptr_t)&a,2|128,0},{0,(uintptr_t)&b,2|128,0}};
 pthread_t t; pthread_create(&t,0,waker,0);
 long r = syscall(449, w, 2, 0, 0, CLOCK_MONOTONIC); printf("waitv woke %ld\n", r);
 pthread_join(t,0);
 r = syscall(449, w, 2, 0, 0, CLOCK_MONOTONIC); printf("value differs %ld %s\n", r, r<0?strerror(errno):"");
 w[1].val = 1; struct timespec ts; clock_gettime(CLOCK_MONOTONIC,&ts); ts.tv_nsec += 5000000; if (ts.tv_nsec>=1000000000){ts.tv_sec++;ts.tv_nsec-=1000000000;}
 r = syscall(449, w, 2, 0, &ts, CLOCK_MONOTONIC); printf("timeout %ld %s\n", r, r<0?strerror(errno):"");
 r = syscall(449, w, 0, 0, 0, CLOCK_MONOTONIC); printf("zero %ld %s\n", r, r<0?strerror(errno):"");
 w[0].flags = 3; r = syscall(449, w, 2, 0, 0, CLOCK_MONOTONIC); printf("size %ld %s\n", r, r<0?strerror(errno):"");
 w[0].flags = 2; r = syscall(449, w, 2, 0, &ts, 5); printf("clock %ld %s\n", r, r<0?strerror(errno):"");
 return 0; }
