/* Garbage system calls: every number (but those that would end, block or
 * loop the guest) with random arguments, to show that sysgate answers
 * each with a result or a signal, never an internal error. */
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>
static unsigned long long s = 88172645463325252ULL;
static unsigned long r(void){ s ^= s << 13; s ^= s >> 7; s ^= s << 17;
  switch (s % 6) { case 0: return 0; case 1: return s % 16; case 2: return (unsigned long)-1;
  case 3: return s; case 4: return (unsigned long)&s; default: return 0x1000; } }
static void h(int x){ (void)x; }
int main(int argc, char **argv) {
  s += atoi(argv[1]);
  for (int i = 1; i < 32; i++) if (i != 9 && i != 19) signal(i, h);
  for (int k = 0; k < 3000; k++) {
    long nr = s % 460; r();
#ifdef __x86_64__
    if (nr == 60 || nr == 231 || nr == 34 || nr == 35 || nr == 230 || nr == 130 || nr == 128 || nr == 62 || nr == 200 || nr == 234 || nr == 15 || nr == 37 || nr == 38 || nr == 0 || nr == 17 || nr == 19 || nr == 295 || nr == 11 || nr == 25
        || nr == 56 || nr == 57 || nr == 58 || nr == 59 || nr == 322 || nr == 435) continue;  /* new processes, new programs */
#else
    if (nr == 1 || nr == 252 || nr == 29 || nr == 162 || nr == 407 || nr == 179 || nr == 72 || nr == 37 || nr == 238 || nr == 270 || nr == 119 || nr == 173 || nr == 27 || nr == 104 || nr == 3 || nr == 180 || nr == 145 || nr == 333 || nr == 91 || nr == 163 || nr == 267 || nr == 421
        || nr == 2 || nr == 120 || nr == 190 || nr == 11 || nr == 358 || nr == 435) continue;  /* new processes, new programs */
#endif
    syscall(nr, r(), r(), r(), r(), r(), r());
  }
  puts("fuzz done");
  return 0;
}
