/* set_thread_area and get_thread_area as Linux answers them (tls_desc_okay):
 * which user_desc shapes are refused, which clear the entry, what reading
 * an entry back gives, and that a segment made this way works: %gs loaded
 * with its selector reads through its base. The x86-64 table lists both
 * numbers without an entry point: ENOSYS, whatever the argument. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* <asm/ldt.h>'s, which musl's headers lack */
struct user_desc {
    unsigned int entry_number;
    unsigned int base_addr;
    unsigned int limit;
    unsigned int seg_32bit : 1;
    unsigned int contents : 2;
    unsigned int read_exec_only : 1;
    unsigned int limit_in_pages : 1;
    unsigned int seg_not_present : 1;
    unsigned int useable : 1;
    unsigned int lm : 1;
};

static long set_area(struct user_desc *d) {
    long r = syscall(SYS_set_thread_area, d);
    return r < 0 ? -errno : r;
}

static long get_area(struct user_desc *d) {
    long r = syscall(SYS_get_thread_area, d);
    return r < 0 ? -errno : r;
}

static void show(const char *what, struct user_desc *d) {
    printf("%-22s entry=%d base=%#x limit=%#x 32bit=%d contents=%d reo=%d pages=%d np=%d use=%d\n",
           what, (int)d->entry_number, d->base_addr, d->limit, d->seg_32bit, d->contents,
           d->read_exec_only, d->limit_in_pages, d->seg_not_present, d->useable);
}

static struct user_desc data_desc(int entry, uint32_t base) {
    struct user_desc d;
    memset(&d, 0, sizeof d);
    d.entry_number = entry;
    d.base_addr = base;
    d.limit = 0xfffff;
    d.seg_32bit = 1;
    d.limit_in_pages = 1;
    d.useable = 1;
    return d;
}

static uint32_t cell = 0x5eedf00d;  /* static, non-PIE: below 4 GiB */

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    /* Refused shapes: 16-bit, code, not present; entries out of range. */
    struct user_desc d = data_desc(-1, 0);
    d.seg_32bit = 0;
    printf("16-bit: %ld\n", set_area(&d));
    d = data_desc(-1, 0);
    d.contents = 2;
    printf("code: %ld\n", set_area(&d));
    d = data_desc(-1, 0);
    d.contents = 3;
    d.seg_not_present = 1;
    printf("conforming np: %ld\n", set_area(&d));
    d = data_desc(-1, 0);
    d.seg_not_present = 1;
    printf("not present: %ld\n", set_area(&d));
    d = data_desc(3, 0);
    printf("entry 3: %ld\n", set_area(&d));
    d = data_desc(15, 0);
    printf("entry 15: %ld\n", set_area(&d));
    printf("bad pointer: %ld\n", set_area((struct user_desc *)8));
    d.entry_number = 99;
    printf("get entry 99: %ld\n", get_area(&d));
    printf("get bad pointer: %ld\n", get_area((struct user_desc *)8));

    /* A good one: allocated, read back, used through %gs. */
    d = data_desc(-1, (uint32_t)(uintptr_t)&cell);
    long set = set_area(&d);
    printf("set: %ld\n", set);
    if (set < 0)
        return 0;       /* x86-64: the table has no entry point for either call */
    int entry = d.entry_number;
    printf("allocated entry: %d\n", entry);
    struct user_desc back;
    memset(&back, 0xff, sizeof back);
    back.entry_number = entry;
    printf("get: %ld\n", get_area(&back));
    back.base_addr = back.base_addr == (uint32_t)(uintptr_t)&cell;
    show("read back (base ok?)", &back);
    unsigned short sel = entry * 8 + 3, old;
    uint32_t got;
    __asm__ volatile("mov %%gs, %0\n mov %2, %%gs\n mov %%gs:0, %1\n mov %0, %%gs"
                     : "=&r"(old), "=&r"(got) : "r"(sel) : "memory");
    printf("through %%gs: %#x\n", got);

    /* Allocate until none is left. */
    for (int i = 0; i < 4; i++) {
        struct user_desc e = data_desc(-1, 0x1000 * (i + 1));
        long r = set_area(&e);
        printf("more: %ld entry %d\n", r, r ? -1 : (int)e.entry_number);
    }
    /* Clearing: Linux's empty pattern, and the all-zero one. */
    struct user_desc z;
    memset(&z, 0, sizeof z);
    z.entry_number = 13;
    z.read_exec_only = 1;
    z.seg_not_present = 1;
    printf("clear (empty): %ld\n", set_area(&z));
    memset(&z, 0, sizeof z);
    z.entry_number = 14;
    printf("clear (zero): %ld\n", set_area(&z));
    for (int i = 13; i <= 14; i++) {
        memset(&back, 0xff, sizeof back);
        back.entry_number = i;
        printf("get cleared: %ld\n", get_area(&back));
        show("cleared", &back);
    }
    d = data_desc(-1, 0);
    long r = set_area(&d);
    printf("after clearing: %ld entry %d\n", r, (int)d.entry_number);
    return 0;
}
