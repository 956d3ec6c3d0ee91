/* process_vm_readv/writev on the caller's own memory: whole and partial
   copies, the vsyscall page (EFAULT: no page to pin), bad arguments. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

static void show(const char *what, long r)
{
    printf("%-20s %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

int main(void)
{
    long pg = getpagesize();
    char src[64] = "the quick brown fox", dst[64] = {0};
    pid_t me = getpid();
    struct iovec l = {dst, 10}, r = {src, 64};
    show("read", process_vm_readv(me, &l, 1, &r, 1, 0));
    printf("  got %s\n", dst);
    struct iovec l2[2] = {{dst, 4}, {dst + 8, 4}}, r2[2] = {{src + 4, 3}, {src + 10, 10}};
    memset(dst, '.', 20);
    show("scatter", process_vm_readv(me, l2, 2, r2, 2, 0));
    printf("  got %.20s\n", dst);
    char *two = mmap(0, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(two + pg, pg);
    memset(two, 'a', pg);
    char big[8192];
    struct iovec lb = {big, sizeof big}, rb = {two + pg - 100, 1000};
    show("partial", process_vm_readv(me, &lb, 1, &rb, 1, 0));
#ifdef __x86_64__
    struct iovec rv = {(void *)0xffffffffff600000UL, 8};
    show("vsyscall", process_vm_readv(me, &l, 1, &rv, 1, 0));
#endif
    struct iovec ru = {(void *)4096, 8};
    show("unmapped", process_vm_readv(me, &l, 1, &ru, 1, 0));
    show("flags", process_vm_readv(me, &l, 1, &r, 1, 1));
    show("no pid", process_vm_readv(0x3fffffff, &l, 1, &r, 1, 0));
    struct iovec l0 = {dst, 0};
    show("empty", process_vm_readv(0x3fffffff, &l0, 1, &r, 1, 0));
    show("bad local vec", process_vm_readv(me, (void *)8, 1, &r, 1, 0));
    show("bad remote vec", process_vm_readv(me, &l, 1, (void *)8, 1, 0));
    show("too many", process_vm_readv(me, &l, 1, &r, 1025, 0));
    struct iovec w = {"HELLO", 5}, rw = {src, 5};
    show("write", process_vm_writev(me, &w, 1, &rw, 1, 0));
    printf("  now %s\n", src);
    struct iovec ro = {(void *)main, 5};
    show("write code", process_vm_writev(me, &w, 1, &ro, 1, 0));
    return 0;
}
