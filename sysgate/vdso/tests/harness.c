/*
 * Native test harness for sysgate's vDSO images (built by
 * tests/test_vdso_image.py for -m64 and -m32, run on the real kernel).
 *
 *   harness IMAGE VVAR|- check     map IMAGE with a vvar page before it
 *                                  (read from the file VVAR, or filled here
 *                                  from the real clocks when "-"), find the
 *                                  exports through the image's own hash
 *                                  tables, and compare every function with
 *                                  the real system calls
 *   harness IMAGE - unwind         (i386) dlopen IMAGE and backtrace from a
 *                                  signal handler through __kernel_sigreturn
 *                                  and __kernel_vsyscall
 *   harness IMAGE VVAR exec PROG [ARG...]
 *                                  start the static program PROG in this
 *                                  process (load its segments, build its
 *                                  stack) with IMAGE as its vDSO: its libc
 *                                  finds the image through AT_SYSINFO_EHDR
 *                                  (and AT_SYSINFO on i386), as under Linux
 *
 * Prints one line per check ("ok ..." or "FAIL ..."); exits 1 on a failure.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <link.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../src/vvar.h"

#ifdef __x86_64__
#define PLATFORM "x86_64"
#else
#define PLATFORM "i686"
#endif

#define NSEC 1000000000LL
#define MS 1000000LL

static int failures;

#define CHECK(cond, ...) do {						\
	if (cond) { printf("ok   "); printf(__VA_ARGS__); printf("\n"); }	\
	else { failures++; printf("FAIL "); printf(__VA_ARGS__);	\
	       printf("   [%s:%d: %s]\n", __FILE__, __LINE__, #cond); }	\
} while (0)

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* The real kernel's answer, bypassing the host's vDSO. */
static long sys_clock_gettime(int clk, struct timespec *ts)
{
	long r = syscall(SYS_clock_gettime, clk, ts);
	return r < 0 ? -errno : r;
}

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * NSEC + ts->tv_nsec;
}

static int64_t real_ns(int clk)
{
	struct timespec ts;
	sys_clock_gettime(clk, &ts);
	return ts_ns(&ts);
}

/* ---- finding symbols, the way a libc does: DT_GNU_HASH, DT_HASH ----- */

struct image {
	uintptr_t base;
	ElfW(Sym) *symtab;
	const char *strtab;
	uint32_t *hash, *gnu_hash;
	ElfW(Half) *versym;
	ElfW(Verdef) *verdef;
};

static void image_init(struct image *im, uintptr_t base)
{
	ElfW(Ehdr) *eh = (ElfW(Ehdr) *)base;
	ElfW(Phdr) *ph = (ElfW(Phdr) *)(base + eh->e_phoff);
	ElfW(Dyn) *dyn = NULL;

	memset(im, 0, sizeof(*im));
	im->base = base;
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_DYNAMIC)
			dyn = (ElfW(Dyn) *)(base + ph[i].p_offset);
	for (; dyn && dyn->d_tag != DT_NULL; dyn++) {
		uintptr_t p = base + dyn->d_un.d_ptr;
		switch (dyn->d_tag) {
		case DT_SYMTAB: im->symtab = (ElfW(Sym) *)p; break;
		case DT_STRTAB: im->strtab = (const char *)p; break;
		case DT_HASH: im->hash = (uint32_t *)p; break;
		case DT_GNU_HASH: im->gnu_hash = (uint32_t *)p; break;
		case DT_VERSYM: im->versym = (ElfW(Half) *)p; break;
		case DT_VERDEF: im->verdef = (ElfW(Verdef) *)p; break;
		}
	}
}

static int version_matches(struct image *im, uint32_t sym, const char *version)
{
	ElfW(Verdef) *vd = im->verdef;
	unsigned ndx;

	if (!im->versym || !vd)
		return 0;
	ndx = im->versym[sym] & 0x7fff;
	for (;;) {
		if (!(vd->vd_flags & VER_FLG_BASE) && (vd->vd_ndx & 0x7fff) == ndx) {
			ElfW(Verdaux) *aux = (ElfW(Verdaux) *)((char *)vd + vd->vd_aux);
			return strcmp(im->strtab + aux->vda_name, version) == 0;
		}
		if (!vd->vd_next)
			return 0;
		vd = (ElfW(Verdef) *)((char *)vd + vd->vd_next);
	}
}

static int sym_matches(struct image *im, uint32_t i, const char *name, const char *version)
{
	ElfW(Sym) *s = &im->symtab[i];
	return s->st_shndx != SHN_UNDEF && strcmp(im->strtab + s->st_name, name) == 0 &&
	       version_matches(im, i, version);
}

static void *lookup_gnu(struct image *im, const char *name, const char *version)
{
	uint32_t *h = im->gnu_hash, nbuckets = h[0], symoffset = h[1], bloom_size = h[2];
	uint32_t bloom_shift = h[3], hash = 5381, *buckets, *chain, i;
	ElfW(Addr) *bloom = (ElfW(Addr) *)&h[4], word;
	const unsigned bits = sizeof(ElfW(Addr)) * 8;

	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		hash = hash * 33 + *c;
	word = bloom[(hash / bits) % bloom_size];
	if (!((word >> (hash % bits)) & (word >> ((hash >> bloom_shift) % bits)) & 1))
		return NULL;
	buckets = (uint32_t *)&bloom[bloom_size];
	chain = &buckets[nbuckets] - symoffset;
	for (i = buckets[hash % nbuckets]; i >= symoffset; i++) {
		if ((chain[i] | 1) == (hash | 1) && sym_matches(im, i, name, version))
			return (void *)(im->base + im->symtab[i].st_value);
		if (chain[i] & 1)
			break;
	}
	return NULL;
}

static void *lookup_sysv(struct image *im, const char *name, const char *version)
{
	uint32_t nbucket = im->hash[0], *bucket = &im->hash[2], *chain = &bucket[nbucket];
	uint32_t h = 0, g;

	for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
		h = (h << 4) + *c;
		g = h & 0xf0000000;
		if (g)
			h ^= g >> 24;
		h &= ~g;
	}
	for (uint32_t i = bucket[h % nbucket]; i; i = chain[i])
		if (sym_matches(im, i, name, version))
			return (void *)(im->base + im->symtab[i].st_value);
	return NULL;
}

static void *lookup(struct image *im, const char *name, const char *version)
{
	void *g = lookup_gnu(im, name, version), *s = lookup_sysv(im, name, version);

	CHECK(g && g == s, "lookup %s@%s: gnu %p sysv %p", name, version, g, s);
	return g;
}

/* ---- the vvar page --------------------------------------------------- */

static struct vvar_page *vv;

static void vvar_writable(int w)
{
	mprotect(vv, VVAR_SIZE, w ? PROT_READ | PROT_WRITE : PROT_READ);
}

/* Fill the page from the real clocks: TSC rate measured against
 * CLOCK_MONOTONIC over ~50 ms; bases at a common cycle_last. */
static void vvar_fill(void)
{
	uint64_t c0, c1, last;
	int64_t t0, t1;
	double hz;
	unsigned shift = 32;
	static const int hres[] = { 0, 1, 7, 11 }, coarse[] = { 5, 6 };

	c0 = rdtsc(); t0 = real_ns(CLOCK_MONOTONIC);
	usleep(50000);
	c1 = rdtsc(); t1 = real_ns(CLOCK_MONOTONIC);
	hz = (double)(c1 - c0) * NSEC / (double)(t1 - t0);
	while ((double)NSEC * (double)(1ULL << shift) / hz >= 4294967296.0)
		shift--;
	memset(vv, 0, VVAR_SIZE);
	vv->mult = (uint32_t)((double)NSEC * (double)(1ULL << shift) / hz + 0.5);
	vv->shift = shift;
	vv->cycle_last = last = rdtsc();
	for (unsigned i = 0; i < 4; i++) {
		uint64_t a = rdtsc();
		int64_t ns = real_ns(hres[i]);
		uint64_t b = rdtsc();
		uint64_t back = ((a + b) / 2 - last) * (uint64_t)vv->mult;	/* small */
		ns -= (int64_t)(back >> shift);
		vv->basetime[hres[i]].sec = ns / NSEC;
		vv->basetime[hres[i]].nsec = (uint64_t)(ns % NSEC) << shift;
	}
	for (unsigned i = 0; i < 2; i++) {
		int64_t ns = real_ns(coarse[i]);
		vv->basetime[coarse[i]].sec = ns / NSEC;
		vv->basetime[coarse[i]].nsec = (uint64_t)(ns % NSEC) << shift;
	}
	vv->hrtimer_res = 1;
	vv->coarse_res = 4000000;
	vv->tz_minuteswest = -60;
	vv->tz_dsttime = 1;
	vv->clock_mode = VVAR_CLOCK_MODE_TSC;
	vv->seq = 2;
	printf("info vvar: tsc %.0f Hz, mult %u, shift %u\n", hz, vv->mult, vv->shift);
}

/* ---- the checks ------------------------------------------------------ */

struct ts32 { int32_t tv_sec, tv_nsec; };
struct ts64 { int64_t tv_sec, tv_nsec; };
struct tv_native { long tv_sec, tv_usec; };
struct tz_native { int minuteswest, dsttime; };

typedef int (*gettime_fn)(int, struct timespec *);
typedef int (*gettime64_fn)(int, struct ts64 *);
typedef int (*gtod_fn)(struct tv_native *, struct tz_native *);
typedef long (*time_fn)(long *);
typedef int (*getres_fn)(int, struct timespec *);
typedef long (*getcpu_fn)(unsigned *, unsigned *, void *);

static gettime_fn vdso_gettime;
static gettime64_fn vdso_gettime64;
static gtod_fn vdso_gtod;
static time_fn vdso_time;
static getres_fn vdso_getres;
static getcpu_fn vdso_getcpu;

static const char *clock_name(int clk)
{
	static const char *names[] = { "REALTIME", "MONOTONIC", "PROCESS_CPUTIME_ID",
		"THREAD_CPUTIME_ID", "MONOTONIC_RAW", "REALTIME_COARSE", "MONOTONIC_COARSE",
		"BOOTTIME", "REALTIME_ALARM", "BOOTTIME_ALARM", "10", "TAI" };
	return clk >= 0 && clk < 12 ? names[clk] : "invalid";
}

/* A served clock agrees with the kernel's: before - tol <= vdso <= after + tol. */
static void check_agrees(int clk, int64_t tol)
{
	struct timespec ts;
	int64_t before = real_ns(clk), v, after;
	int r = vdso_gettime(clk, &ts);

	after = real_ns(clk);
	v = ts_ns(&ts);
	CHECK(r == 0 && ts.tv_nsec >= 0 && ts.tv_nsec < NSEC && v >= before - tol && v <= after + tol,
	      "clock_gettime(%s) = %d: vdso - kernel = %+lld ns (window %lld ns, tolerance %lld)",
	      clock_name(clk), r, (long long)(v - before), (long long)(after - before),
	      (long long)tol);
	if (vdso_gettime64) {
		struct ts64 t64;
		before = real_ns(clk);
		r = vdso_gettime64(clk, &t64);
		after = real_ns(clk);
		v = t64.tv_sec * NSEC + t64.tv_nsec;
		CHECK(r == 0 && v >= before - tol && v <= after + tol,
		      "clock_gettime64(%s) = %d: vdso - kernel = %+lld ns", clock_name(clk), r,
		      (long long)(v - before));
	}
}

static void check_monotonic(int clk, int n)
{
	struct timespec ts;
	int64_t prev = 0, first = 0, v = 0;
	int bad = 0;

	for (int i = 0; i < n; i++) {
		vdso_gettime(clk, &ts);
		v = ts_ns(&ts);
		if (i == 0)
			first = v;
		else if (v < prev)
			bad++;
		prev = v;
	}
	CHECK(bad == 0 && v > first, "clock_gettime(%s) never goes back over %d calls "
	      "(advanced %lld ns)", clock_name(clk), n, (long long)(v - first));
}

/* A clock the page does not serve: the vDSO makes the system call. */
static void check_fallback(int clk)
{
	struct timespec ts, k1, k2;
	long r1 = sys_clock_gettime(clk, &k1);
	int r = vdso_gettime(clk, &ts);
	long r2 = sys_clock_gettime(clk, &k2);

	if (r1 == 0)
		CHECK(r == 0 && ts_ns(&ts) >= ts_ns(&k1) && ts_ns(&ts) <= ts_ns(&k2),
		      "fallback clock_gettime(%s, %d) = %d within the kernel's readings",
		      clock_name(clk), clk, r);
	else
		CHECK(r == r1 && r == r2, "fallback clock_gettime(%d) = %d, kernel %ld",
		      clk, r, r1);
	if (vdso_gettime64) {
		struct ts64 t64;
		r = vdso_gettime64(clk, &t64);
		CHECK(r == r1, "fallback clock_gettime64(%s, %d) = %d, kernel %ld",
		      clock_name(clk), clk, r, r1);
	}
}

static void check_getres(int clk, long want_nsec)
{
	struct timespec ts = { -1, -1 }, k = { -2, -2 };
	long kr = syscall(SYS_clock_getres, clk, &k);
	int r = vdso_getres(clk, &ts);

	int kerr = kr < 0 ? -errno : 0;

	if (want_nsec < 0 && kerr)	/* fallback, refused */
		CHECK(r == kerr && ts.tv_sec == -1, "clock_getres(%d) = %d as the kernel's",
		      clk, r);
	else if (want_nsec < 0)		/* fallback: exactly the kernel's answer */
		CHECK(r == 0 && ts.tv_sec == k.tv_sec && ts.tv_nsec == k.tv_nsec,
		      "clock_getres(%s) = %d {%ld, %ld} as the kernel's", clock_name(clk), r,
		      (long)ts.tv_sec, (long)ts.tv_nsec);
	else
		CHECK(r == 0 && ts.tv_sec == 0 && ts.tv_nsec == want_nsec,
		      "clock_getres(%s) = %d {%ld, %ld}", clock_name(clk), r,
		      (long)ts.tv_sec, (long)ts.tv_nsec);
	CHECK(vdso_getres(clk, NULL) == (kr < 0 ? -EINVAL : 0), "clock_getres(%s, NULL)",
	      clock_name(clk));
}

static void check_gettimeofday(int tz_from_page)
{
	struct tv_native tv;
	struct tz_native tz = { 99, 99 }, ktz = { 98, 98 };
	int64_t before = real_ns(CLOCK_REALTIME), v, after;
	int r = vdso_gtod(&tv, &tz);

	after = real_ns(CLOCK_REALTIME);
	v = (int64_t)tv.tv_sec * NSEC + tv.tv_usec * 1000LL;
	CHECK(r == 0 && tv.tv_usec >= 0 && tv.tv_usec < 1000000 &&
	      v >= before - 2 * MS - 1000 && v <= after + 2 * MS,
	      "gettimeofday: vdso - kernel = %+lld ns", (long long)(v - before));
	if (tz_from_page) {
		CHECK(tz.minuteswest == vv->tz_minuteswest && tz.dsttime == vv->tz_dsttime,
		      "gettimeofday tz from the page {%d, %d}", tz.minuteswest, tz.dsttime);
		tz.minuteswest = tz.dsttime = 7;
		CHECK(vdso_gtod(NULL, &tz) == 0 && tz.minuteswest == vv->tz_minuteswest &&
		      tz.dsttime == vv->tz_dsttime, "gettimeofday(NULL, tz)");
	} else {
		syscall(SYS_gettimeofday, NULL, &ktz);
		CHECK(tz.minuteswest == ktz.minuteswest && tz.dsttime == ktz.dsttime,
		      "gettimeofday tz from the kernel {%d, %d}", tz.minuteswest, tz.dsttime);
	}
	CHECK(vdso_gtod(NULL, NULL) == 0, "gettimeofday(NULL, NULL)");
}

static void check_time(void)
{
	long t = 0, k0 = (long)(real_ns(CLOCK_REALTIME) / NSEC), r = vdso_time(&t);
	long k1 = (long)(real_ns(CLOCK_REALTIME) / NSEC);

	CHECK(r == t && r >= k0 - 1 && r <= k1, "time = %ld (kernel %ld..%ld)", r, k0, k1);
	CHECK(vdso_time(NULL) >= r, "time(NULL)");
}

static void check_getcpu(int from_page)
{
	unsigned cpu = 77, node = 77, kcpu = 88, knode = 88;
	long r = vdso_getcpu(&cpu, &node, NULL);

	syscall(SYS_getcpu, &kcpu, &knode, NULL);
	if (from_page)
		CHECK(r == 0 && cpu == 5 && node == 3, "getcpu from the page: %u %u", cpu, node);
	else
		CHECK(r == 0 && cpu == kcpu && node == knode, "getcpu = %ld: %u %u (kernel %u %u)",
		      r, cpu, node, kcpu, knode);
	CHECK(vdso_getcpu(NULL, NULL, NULL) == 0, "getcpu(NULL, NULL)");
}

#ifdef __i386__
/* __kernel_vsyscall with the i386 convention: nr in eax, args in ebx, ecx,
 * edx; ecx, edx and ebp come back unchanged. */
static void *vsyscall;

static long vsys3(long nr, long a, long b, long c, long *ecx_out, long *edx_out)
{
	long ret, cx, dx;
	__asm__ __volatile__("call *%[fn]"
			     : "=a"(ret), "=c"(cx), "=d"(dx)
			     : "0"(nr), "b"(a), "1"(b), "2"(c), [fn] "S"(vsyscall)
			     : "memory");
	*ecx_out = cx;
	*edx_out = dx;
	return ret;
}

static void check_vsyscall(void)
{
	long cx, dx, r;
	struct ts32 ts = { 0, 0 };
	int64_t before = real_ns(CLOCK_MONOTONIC), after;

	r = vsys3(SYS_getpid, 0, 0x11111111, 0x22222222, &cx, &dx);
	CHECK(r == getpid() && cx == 0x11111111 && dx == 0x22222222,
	      "__kernel_vsyscall(getpid) = %ld (pid %d), ecx %lx edx %lx", r, getpid(), cx, dx);
	r = vsys3(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0x33333333, &cx, &dx);
	after = real_ns(CLOCK_MONOTONIC);
	CHECK(r == 0 && cx == (long)&ts && dx == 0x33333333 &&
	      ts.tv_sec * NSEC + ts.tv_nsec >= before && ts.tv_sec * NSEC + ts.tv_nsec <= after,
	      "__kernel_vsyscall(clock_gettime) with arguments");
	r = vsys3(100000, 0, 0, 0, &cx, &dx);
	CHECK(r == -ENOSYS, "__kernel_vsyscall(100000) = %ld", r);
}
#endif

static void check_all(struct image *im)
{
	const char *v26 = "LINUX_2.6";

	vdso_gettime = (gettime_fn)lookup(im, "__vdso_clock_gettime", v26);
	vdso_gtod = (gtod_fn)lookup(im, "__vdso_gettimeofday", v26);
	vdso_time = (time_fn)lookup(im, "__vdso_time", v26);
	vdso_getres = (getres_fn)lookup(im, "__vdso_clock_getres", v26);
	vdso_getcpu = (getcpu_fn)lookup(im, "__vdso_getcpu", v26);
#ifdef __i386__
	vdso_gettime64 = (gettime64_fn)lookup(im, "__vdso_clock_gettime64", v26);
	vsyscall = lookup(im, "__kernel_vsyscall", "LINUX_2.5");
	lookup(im, "__kernel_sigreturn", "LINUX_2.5");
	lookup(im, "__kernel_rt_sigreturn", "LINUX_2.5");
	CHECK(lookup_gnu(im, "__kernel_vsyscall", "LINUX_2.6") == NULL, "versions are checked");
#else
	CHECK(lookup(im, "clock_gettime", v26) == (void *)vdso_gettime &&
	      lookup(im, "gettimeofday", v26) == (void *)vdso_gtod &&
	      lookup(im, "time", v26) == (void *)vdso_time &&
	      lookup(im, "clock_getres", v26) == (void *)vdso_getres &&
	      lookup(im, "getcpu", v26) == (void *)vdso_getcpu, "unprefixed aliases");
#endif
	CHECK(lookup_gnu(im, "__vdso_nonexistent", v26) == NULL &&
	      lookup_sysv(im, "__vdso_nonexistent", v26) == NULL, "absent names are absent");
	if (!vdso_gettime || !vdso_gtod || !vdso_time || !vdso_getres || !vdso_getcpu)
		return;

	printf("info vvar: mode %u mult %u shift %u seq %u\n", vv->clock_mode, vv->mult,
	       vv->shift, vv->seq);
	/* served from the page */
	check_agrees(CLOCK_REALTIME, 2 * MS);
	check_agrees(CLOCK_MONOTONIC, 2 * MS);
	check_agrees(CLOCK_BOOTTIME, 2 * MS);
	check_agrees(CLOCK_TAI, 2 * MS);
	check_monotonic(CLOCK_MONOTONIC, 200000);
	check_monotonic(CLOCK_REALTIME, 20000);
	{	/* coarse: exactly the base */
		struct timespec ts;
		int r = vdso_gettime(CLOCK_MONOTONIC_COARSE, &ts);
		CHECK(r == 0 && (uint64_t)ts.tv_sec == vv->basetime[6].sec &&
		      (uint64_t)ts.tv_nsec == vv->basetime[6].nsec >> vv->shift,
		      "clock_gettime(MONOTONIC_COARSE) is the page's base");
		r = vdso_gettime(CLOCK_REALTIME_COARSE, &ts);
		CHECK(r == 0 && (uint64_t)ts.tv_sec == vv->basetime[5].sec,
		      "clock_gettime(REALTIME_COARSE) is the page's base");
	}
	check_gettimeofday(1);
	check_time();
	check_getres(CLOCK_REALTIME, vv->hrtimer_res);
	check_getres(CLOCK_MONOTONIC, vv->hrtimer_res);
	check_getres(CLOCK_MONOTONIC_COARSE, vv->coarse_res);
	check_getres(CLOCK_PROCESS_CPUTIME_ID, -1);
	check_getres(100, -1);

	/* not served: the system call answers */
	check_fallback(CLOCK_PROCESS_CPUTIME_ID);
	check_fallback(CLOCK_THREAD_CPUTIME_ID);
	check_fallback(CLOCK_MONOTONIC_RAW);
	check_fallback(8);	/* CLOCK_REALTIME_ALARM */
	check_fallback(10);	/* no such clock: -EINVAL */
	check_fallback(12);
	check_fallback(100);
	check_fallback(-6);	/* CPUCLOCK of pid 0, thread clock */
	check_fallback(0x7fffffff);
	check_getcpu(0);

	/* coarse clocks that advance with the TSC (VVAR_F_COARSE_TSC) */
	vvar_writable(1);
	vv->seq++;
	vv->flags |= VVAR_F_COARSE_TSC | VVAR_F_GETCPU;
	vv->cpu = 5;
	vv->node = 3;
	vv->seq++;
	vvar_writable(0);
	{
		struct timespec ts;
		int64_t hres = real_ns(CLOCK_MONOTONIC), v;
		vdso_gettime(CLOCK_MONOTONIC_COARSE, &ts);
		v = ts_ns(&ts);
		CHECK(v <= hres + 2 * MS && v >= hres - 25 * MS,
		      "MONOTONIC_COARSE with VVAR_F_COARSE_TSC follows the TSC (%+lld ns)",
		      (long long)(v - hres));
	}
	check_monotonic(CLOCK_MONOTONIC_COARSE, 20000);
	check_getcpu(1);

	/* a TSC behind cycle_last counts as no time elapsed */
	vvar_writable(1);
	vv->seq++;
	{
		uint64_t saved = vv->cycle_last;
		struct timespec ts;
		vv->cycle_last = rdtsc() + (1ULL << 40);
		vv->seq++;
		vdso_gettime(CLOCK_MONOTONIC, &ts);
		CHECK((uint64_t)ts.tv_sec == vv->basetime[1].sec &&
		      (uint64_t)ts.tv_nsec == vv->basetime[1].nsec >> vv->shift,
		      "a TSC behind cycle_last gives the base");
		vv->seq++;
		vv->cycle_last = saved;
		vv->seq++;
	}

	/* clock_mode NONE: everything by system call */
	vv->seq++;
	vv->clock_mode = VVAR_CLOCK_MODE_NONE;
	vv->flags = 0;
	vv->seq++;
	vvar_writable(0);
	check_agrees(CLOCK_REALTIME, 0);
	check_agrees(CLOCK_MONOTONIC, 0);
	check_agrees(CLOCK_MONOTONIC_COARSE, 0);
	check_gettimeofday(0);
	check_time();
	check_getres(CLOCK_MONOTONIC, -1);
	check_getres(CLOCK_REALTIME_COARSE, -1);
	check_getcpu(0);
#ifdef __i386__
	check_vsyscall();
#endif
}

/* ---- unwinding through the i386 trampolines ------------------------- */
#ifdef __i386__
static void *sigreturn_fn, *rt_sigreturn_fn;
static size_t vsyscall_size = 13;
static volatile int handled;
static int saw_sigreturn, saw_vsyscall, saw_caller;

void __attribute__((noinline)) marker_caller(void);

struct k_sigaction32 { void *handler; unsigned long flags; void *restorer; unsigned long mask[2]; };

static void handler(int sig)
{
	void *pcs[32];
	int n = backtrace(pcs, 32);
	uintptr_t caller = (uintptr_t)marker_caller;

	(void)sig;
	for (int i = 0; i < n; i++) {
		uintptr_t pc = (uintptr_t)pcs[i];
		if (pc >= (uintptr_t)sigreturn_fn - 1 && pc < (uintptr_t)sigreturn_fn + 8)
			saw_sigreturn++;
		if (pc >= (uintptr_t)rt_sigreturn_fn - 1 && pc < (uintptr_t)rt_sigreturn_fn + 8)
			saw_sigreturn++;
		if (pc > (uintptr_t)vsyscall && pc <= (uintptr_t)vsyscall + vsyscall_size)
			saw_vsyscall++;
		if (pc > caller && pc < caller + 200)
			saw_caller++;
	}
	handled++;
}

static void rt_handler(int sig, siginfo_t *si, void *uc)
{
	(void)si; (void)uc;
	handler(sig);
}

/* pause() through __kernel_vsyscall: the signal interrupts it there. */
void __attribute__((noinline)) marker_caller(void)
{
	long cx, dx;
	ualarm(20000, 0);
	vsys3(SYS_pause, 0, 0, 0, &cx, &dx);
	__asm__ __volatile__("" ::: "memory");
}

static void install(int rt)
{
	struct k_sigaction32 ka;

	memset(&ka, 0, sizeof(ka));
	ka.handler = rt ? (void *)rt_handler : (void *)handler;
	ka.flags = 0x04000000 /* SA_RESTORER */ | (rt ? SA_SIGINFO : 0);
	ka.restorer = rt ? rt_sigreturn_fn : sigreturn_fn;
	if (syscall(SYS_rt_sigaction, SIGALRM, &ka, NULL, 8))
		perror("rt_sigaction");
}

static void unwind(const char *path)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	CHECK(h != NULL, "dlopen %s: %s", path, h ? "" : dlerror());
	if (!h)
		return;
	vsyscall = dlvsym(h, "__kernel_vsyscall", "LINUX_2.5");
	sigreturn_fn = dlvsym(h, "__kernel_sigreturn", "LINUX_2.5");
	rt_sigreturn_fn = dlvsym(h, "__kernel_rt_sigreturn", "LINUX_2.5");
	CHECK(vsyscall && sigreturn_fn && rt_sigreturn_fn, "dlvsym finds the trampolines");
	if (!vsyscall || !sigreturn_fn || !rt_sigreturn_fn)
		return;
	{	/* load the unwinder outside the handler */
		void *pcs[4];
		backtrace(pcs, 4);
	}
	for (int rt = 0; rt < 2; rt++) {
		handled = saw_sigreturn = saw_vsyscall = saw_caller = 0;
		install(rt);
		marker_caller();
		CHECK(handled == 1, "%s: handler ran and returned through __kernel_%ssigreturn",
		      rt ? "SA_SIGINFO" : "plain", rt ? "rt_" : "");
		CHECK(saw_sigreturn && saw_vsyscall && saw_caller,
		      "%s: backtrace from the handler: trampoline %d, __kernel_vsyscall %d, caller %d",
		      rt ? "SA_SIGINFO" : "plain", saw_sigreturn, saw_vsyscall, saw_caller);
	}
}
#endif

/* ---- exec: a static program with this image as its vDSO ------------- */

static char **guest_stack(char *top, int argc, char **argv, char **envp, ElfW(Addr) phdr,
			  int phnum, ElfW(Addr) entry, uintptr_t vdso, uintptr_t vsyscall_addr)
{
	char *p = top;
	int envc = 0;
	char *argp[64], *envpp[256];
	static const char platform[] = PLATFORM;

	for (; envp[envc] && envc < 255; envc++)
		;
	for (int i = envc - 1; i >= 0; i--) {
		p -= strlen(envp[i]) + 1;
		strcpy(p, envp[i]);
		envpp[i] = p;
	}
	for (int i = argc - 1; i >= 0; i--) {
		p -= strlen(argv[i]) + 1;
		strcpy(p, argv[i]);
		argp[i] = p;
	}
	p -= sizeof(platform);
	memcpy(p, platform, sizeof(platform));
	char *plat = p;
	p -= 16;
	for (int i = 0; i < 16; i++)
		p[i] = (char)(i * 37 + 11);
	char *rnd = p;

	ElfW(auxv_t) aux[] = {
		{ AT_SYSINFO_EHDR, { vdso } },
#ifdef __i386__
		{ AT_SYSINFO, { vsyscall_addr } },
#endif
		{ AT_HWCAP, { getauxval(AT_HWCAP) } },
		{ AT_PAGESZ, { 4096 } },
		{ AT_CLKTCK, { getauxval(AT_CLKTCK) } },
		{ AT_PHDR, { phdr } },
		{ AT_PHENT, { sizeof(ElfW(Phdr)) } },
		{ AT_PHNUM, { (uintptr_t)phnum } },
		{ AT_BASE, { 0 } },
		{ AT_FLAGS, { 0 } },
		{ AT_ENTRY, { entry } },
		{ AT_UID, { getuid() } },
		{ AT_EUID, { geteuid() } },
		{ AT_GID, { getgid() } },
		{ AT_EGID, { getegid() } },
		{ AT_SECURE, { 0 } },
		{ AT_RANDOM, { (uintptr_t)rnd } },
		{ AT_HWCAP2, { getauxval(AT_HWCAP2) } },
		{ AT_EXECFN, { (uintptr_t)argp[0] } },
		{ AT_PLATFORM, { (uintptr_t)plat } },
		{ 51 /* AT_MINSIGSTKSZ */, { getauxval(51) } },
		{ AT_NULL, { 0 } },
	};
	size_t words = 1 + argc + 1 + envc + 1 + sizeof(aux) / (sizeof(uintptr_t));
	uintptr_t *sp = (uintptr_t *)(((uintptr_t)p - words * sizeof(uintptr_t)) & ~(uintptr_t)15);
	uintptr_t *w = sp;

	(void)vsyscall_addr;
	*w++ = (uintptr_t)argc;
	for (int i = 0; i < argc; i++)
		*w++ = (uintptr_t)argp[i];
	*w++ = 0;
	for (int i = 0; i < envc; i++)
		*w++ = (uintptr_t)envpp[i];
	*w++ = 0;
	memcpy(w, aux, sizeof(aux));
	return (char **)sp;
}

static int exec_guest(uintptr_t vdso, struct image *im, int argc, char **argv)
{
	extern char **environ;
	int fd = open(argv[0], O_RDONLY);
	ElfW(Ehdr) eh;
	ElfW(Phdr) ph[32];
	ElfW(Addr) phdr_addr = 0;
	uintptr_t vsys = 0;

	if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || eh.e_type != ET_EXEC ||
	    eh.e_phnum > 32 ||
	    pread(fd, ph, eh.e_phnum * sizeof(ph[0]), eh.e_phoff) != (ssize_t)(eh.e_phnum * sizeof(ph[0]))) {
		fprintf(stderr, "%s: not a static ET_EXEC\n", argv[0]);
		return 2;
	}
	for (int i = 0; i < eh.e_phnum; i++) {
		ElfW(Phdr) *p = &ph[i];
		if (p->p_type == PT_INTERP) {
			fprintf(stderr, "%s: not static\n", argv[0]);
			return 2;
		}
		if (p->p_type != PT_LOAD)
			continue;
		uintptr_t start = p->p_vaddr & ~4095UL, fend = p->p_vaddr + p->p_filesz;
		uintptr_t mend = (p->p_vaddr + p->p_memsz + 4095) & ~4095UL;
		int prot = (p->p_flags & PF_R ? PROT_READ : 0) | (p->p_flags & PF_W ? PROT_WRITE : 0) |
			   (p->p_flags & PF_X ? PROT_EXEC : 0);
		if (mmap((void *)start, mend - start, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != (void *)start ||
		    pread(fd, (void *)p->p_vaddr, p->p_filesz, p->p_offset) != (ssize_t)p->p_filesz) {
			perror("load segment");
			return 2;
		}
		(void)fend;
		mprotect((void *)start, mend - start, prot);
		if (p->p_offset <= eh.e_phoff && eh.e_phoff < p->p_offset + p->p_filesz)
			phdr_addr = p->p_vaddr + (eh.e_phoff - p->p_offset);
	}
	close(fd);
#ifdef __i386__
	vsys = (uintptr_t)lookup_gnu(im, "__kernel_vsyscall", "LINUX_2.5");
#else
	(void)im;
#endif
	size_t stack_size = 1 << 20;
	char *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char **sp = guest_stack(stack + stack_size, argc, argv, environ, phdr_addr, eh.e_phnum,
				eh.e_entry, vdso, vsys);
	fflush(NULL);
#ifdef __x86_64__
	__asm__ __volatile__("mov %0, %%rsp; xor %%edx, %%edx; jmp *%1"
			     :: "r"(sp), "r"(eh.e_entry) : "memory");
#else
	__asm__ __volatile__("mov %0, %%esp; xor %%edx, %%edx; jmp *%1"
			     :: "r"(sp), "r"(eh.e_entry) : "memory");
#endif
	__builtin_unreachable();
}

/* ---- main ------------------------------------------------------------ */

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 4 || (argc > 4 && strcmp(argv[3], "exec"))) {
		fprintf(stderr, "usage: %s IMAGE VVAR|- check|unwind|exec PROG ARGS\n", argv[0]);
		return 2;
	}
	if (!strcmp(argv[3], "unwind")) {
#ifdef __i386__
		unwind(argv[1]);
#else
		CHECK(0, "unwind is an i386 check");
#endif
		return failures != 0;
	}

	{	/* stay on one CPU: getcpu is compared with the kernel's */
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(sched_getcpu(), &set);
		sched_setaffinity(0, sizeof(set), &set);
	}

	int fd = open(argv[1], O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		perror(argv[1]);
		return 2;
	}
	size_t pages = ((size_t)st.st_size + 4095) / 4096;
	char *region = mmap(NULL, (pages + 1) * 4096, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *base = region + 4096;
	if (read(fd, base, st.st_size) != st.st_size) {
		perror("read");
		return 2;
	}
	close(fd);
	vv = (struct vvar_page *)region;
	if (strcmp(argv[2], "-")) {
		int vfd = open(argv[2], O_RDONLY);
		if (vfd < 0 || read(vfd, region, 4096) != 4096) {
			perror(argv[2]);
			return 2;
		}
		close(vfd);
	} else {
		vvar_fill();
	}
	mprotect(region, 4096, PROT_READ);
	mprotect(base, pages * 4096, PROT_READ | PROT_EXEC);
	struct image im;
	image_init(&im, (uintptr_t)base);
	if (!strcmp(argv[3], "exec"))
		return exec_guest((uintptr_t)base, &im, argc - 4, argv + 4);
	printf("info image at %p, vvar at %p\n", (void *)base, (void *)region);

	check_all(&im);
	printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
	return failures != 0;
}
