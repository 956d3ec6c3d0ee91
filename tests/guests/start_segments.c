/* The segment registers a program starts with: Linux's start_thread gives
   a 64-bit program null DS and ES, a 32-bit one __USER_DS (0x2b); FS and
   GS are null until the C library sets up its thread pointer (i386 glibc
   loads a TLS selector into GS before main). */
#include <stdio.h>

int main(void)
{
    unsigned short ds, es, fs, gs, ss;
    __asm__("mov %%ds, %0; mov %%es, %1; mov %%fs, %2; mov %%gs, %3; mov %%ss, %4"
            : "=r"(ds), "=r"(es), "=r"(fs), "=r"(gs), "=r"(ss));
    printf("ds %#x es %#x fs %#x gs %#x ss %#x\n", ds, es, fs, gs, ss);
    return 0;
}
