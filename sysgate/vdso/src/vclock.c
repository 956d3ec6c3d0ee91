/*
 * The time functions of both vDSO images: clock_gettime, gettimeofday,
 * time, clock_getres and getcpu, read from the vvar page (see vvar.h) and
 * the TSC. Anything the page cannot answer makes the real system call, and
 * its result (0 or -errno) is returned unchanged, as Linux's vDSO does.
 *
 * No writable data, no relocations: the only outside reference is
 * __vvar_page, a hidden symbol at a fixed distance from this code.
 */
#include "arch.h"

extern const struct vvar_page __vvar_page __attribute__((visibility("hidden")));

#define CLOCK_REALTIME		0
#define CLOCK_MONOTONIC		1
#define CLOCK_REALTIME_COARSE	5
#define CLOCK_MONOTONIC_COARSE	6
#define CLOCK_BOOTTIME		7
#define CLOCK_TAI		11

#define HRES_MASK	((1u << CLOCK_REALTIME) | (1u << CLOCK_MONOTONIC) | \
			 (1u << CLOCK_BOOTTIME) | (1u << CLOCK_TAI))
#define COARSE_MASK	((1u << CLOCK_REALTIME_COARSE) | (1u << CLOCK_MONOTONIC_COARSE))

#define always_inline	inline __attribute__((always_inline))

struct vdso_timespec64 { s64 tv_sec; s64 tv_nsec; };
struct vdso_timespec   { long tv_sec; long tv_nsec; };
struct vdso_timeval    { long tv_sec; long tv_usec; };
struct vdso_timezone   { int tz_minuteswest; int tz_dsttime; };

static always_inline const struct vvar_page *vvar(void)
{
	return &__vvar_page;
}

static always_inline u32 vvar_read_begin(const struct vvar_page *vd)
{
	u32 seq;

	while ((seq = READ_ONCE(vd->seq)) & 1)
		cpu_relax();
	barrier();
	return seq;
}

static always_inline int vvar_read_retry(const struct vvar_page *vd, u32 seq)
{
	barrier();
	return READ_ONCE(vd->seq) != seq;
}

/*
 * The time of a clock served from the page: 0 and *sec, *nsec filled, or
 * -1 when the system call must answer.
 */
static always_inline int do_clock(u32 clk, u64 *sec, u32 *nsec)
{
	const struct vvar_page *vd = vvar();
	u32 seq, shift, bit;
	u64 bsec, bnsec, ns;

	if (clk >= VVAR_NR_BASES)
		return -1;
	bit = 1u << clk;
	if (!(bit & (HRES_MASK | COARSE_MASK)))
		return -1;
	/*
	 * The arithmetic is done inside the read section, on values still in
	 * registers (a retry redoes it): on i386 this keeps the fast path
	 * from spilling every 64-bit field to the stack.
	 */
	do {
		seq = vvar_read_begin(vd);
		if (READ_ONCE(vd->clock_mode) != VVAR_CLOCK_MODE_TSC)
			return -1;
		shift = READ_ONCE(vd->shift);
		bnsec = READ_ONCE(vd->basetime[clk].nsec);
		if ((bit & HRES_MASK) || (READ_ONCE(vd->flags) & VVAR_F_COARSE_TSC)) {
			u64 delta = rdtsc_ordered() - READ_ONCE(vd->cycle_last);

			if ((s64)delta < 0)
				delta = 0;
			ns = mul_add_shr(delta, READ_ONCE(vd->mult), bnsec, shift);
		} else {
			ns = bnsec >> (shift & 63);
		}
		bsec = READ_ONCE(vd->basetime[clk].sec);
	} while (vvar_read_retry(vd, seq));

	*nsec = div_nsec(&ns);
	*sec = bsec + ns;
	return 0;
}

static always_inline int do_getres(u32 clk, u32 *res)
{
	const struct vvar_page *vd = vvar();
	u32 seq, bit;

	if (clk >= VVAR_NR_BASES)
		return -1;
	bit = 1u << clk;
	if (!(bit & (HRES_MASK | COARSE_MASK)))
		return -1;
	do {
		seq = vvar_read_begin(vd);
		if (READ_ONCE(vd->clock_mode) != VVAR_CLOCK_MODE_TSC)
			return -1;
		*res = (bit & HRES_MASK) ? READ_ONCE(vd->hrtimer_res)
					 : READ_ONCE(vd->coarse_res);
	} while (vvar_read_retry(vd, seq));
	return 0;
}

#ifdef __x86_64__

int __vdso_clock_gettime(int clk, struct vdso_timespec *ts)
{
	u64 sec;
	u32 nsec;

	if (do_clock((u32)clk, &sec, &nsec))
		return (int)syscall2(__NR_clock_gettime, clk, (long)ts);
	ts->tv_sec = (long)sec;
	ts->tv_nsec = nsec;
	return 0;
}
int clock_gettime(int, struct vdso_timespec *)
	__attribute__((weak, alias("__vdso_clock_gettime")));

#else /* i386: 32-bit time_t, and the 64-bit variant */

int __vdso_clock_gettime(int clk, struct vdso_timespec *ts)
{
	u64 sec;
	u32 nsec;

	if (do_clock((u32)clk, &sec, &nsec))
		return (int)syscall2(__NR_clock_gettime, clk, (long)ts);
	ts->tv_sec = (long)sec;
	ts->tv_nsec = (long)nsec;
	return 0;
}

int __vdso_clock_gettime64(int clk, struct vdso_timespec64 *ts)
{
	u64 sec;
	u32 nsec;

	if (do_clock((u32)clk, &sec, &nsec))
		return (int)syscall2(__NR_clock_gettime64, clk, (long)ts);
	ts->tv_sec = (s64)sec;
	ts->tv_nsec = nsec;
	return 0;
}

#endif

int __vdso_gettimeofday(struct vdso_timeval *tv, struct vdso_timezone *tz)
{
	if (tv) {
		u64 sec;
		u32 nsec;

		if (do_clock(CLOCK_REALTIME, &sec, &nsec))
			return (int)syscall2(__NR_gettimeofday, (long)tv, (long)tz);
		tv->tv_sec = (long)sec;
		tv->tv_usec = (long)(nsec / 1000);
	}
	if (tz) {
		const struct vvar_page *vd = vvar();
		u32 seq;
		int mw, dst;

		do {
			seq = vvar_read_begin(vd);
			if (READ_ONCE(vd->clock_mode) != VVAR_CLOCK_MODE_TSC)
				return (int)syscall2(__NR_gettimeofday, 0, (long)tz);
			mw = READ_ONCE(vd->tz_minuteswest);
			dst = READ_ONCE(vd->tz_dsttime);
		} while (vvar_read_retry(vd, seq));
		tz->tz_minuteswest = mw;
		tz->tz_dsttime = dst;
	}
	return 0;
}

long __vdso_time(long *t)
{
	u64 sec;
	u32 nsec;

	if (do_clock(CLOCK_REALTIME_COARSE, &sec, &nsec))
		return syscall2(__NR_time, (long)t, 0);
	if (t)
		*t = (long)sec;
	return (long)sec;
}

int __vdso_clock_getres(int clk, struct vdso_timespec *res)
{
	u32 ns;

	if (do_getres((u32)clk, &ns))
		return (int)syscall2(__NR_clock_getres, clk, (long)res);
	if (res) {
		res->tv_sec = 0;
		res->tv_nsec = (long)ns;
	}
	return 0;
}

long __vdso_getcpu(unsigned *cpu, unsigned *node, void *unused)
{
	const struct vvar_page *vd = vvar();
	u32 seq, c, n;

	do {
		seq = vvar_read_begin(vd);
		if (!(READ_ONCE(vd->flags) & VVAR_F_GETCPU))
			return syscall3(__NR_getcpu, (long)cpu, (long)node, (long)unused);
		c = READ_ONCE(vd->cpu);
		n = READ_ONCE(vd->node);
	} while (vvar_read_retry(vd, seq));
	if (cpu)
		*cpu = c;
	if (node)
		*node = n;
	return 0;
}

#ifdef __x86_64__
int gettimeofday(struct vdso_timeval *, struct vdso_timezone *)
	__attribute__((weak, alias("__vdso_gettimeofday")));
long time(long *) __attribute__((weak, alias("__vdso_time")));
int clock_getres(int, struct vdso_timespec *)
	__attribute__((weak, alias("__vdso_clock_getres")));
long getcpu(unsigned *, unsigned *, void *)
	__attribute__((weak, alias("__vdso_getcpu")));
#endif
