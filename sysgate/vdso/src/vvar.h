/*
 * The vvar page: what the sysgate kernel tells the vDSO about time.
 *
 * One page (4096 bytes), mapped read-only exactly one page before the
 * first byte of the vDSO image (vvar = image base - 0x1000). The vDSO finds
 * it PC-relatively through __vvar_page, a hidden symbol the linker script
 * defines as "image start - 4096", so the image works at any load address.
 *
 * sysgate/vdso/vvar.py mirrors this layout field for field (offsets and
 * struct formats); tests/test_vdso_image.py checks the two agree.
 *
 *  off  size  field
 *    0     4  seq              odd while the kernel writes; readers retry
 *    4     4  clock_mode       VVAR_CLOCK_MODE_NONE: every call makes the
 *                              system call (a zeroed page is always safe);
 *                              VVAR_CLOCK_MODE_TSC: clocks read the TSC
 *    8     8  cycle_last       TSC value the bases below were taken at
 *   16     4  mult             ns = (delta * mult + base_nsec) >> shift
 *   20     4  shift
 *   24     4  flags            VVAR_F_*
 *   28     4  hrtimer_res      ns, clock_getres of the high-resolution clocks
 *   32     4  coarse_res       ns, clock_getres of the coarse clocks
 *   36     4  tz_minuteswest   gettimeofday's struct timezone
 *   40     4  tz_dsttime
 *   44     4  cpu              getcpu (valid when VVAR_F_GETCPU)
 *   48     4  node
 *   52    12  (reserved, zero)
 *   64   192  basetime[12]     indexed by clock id: { u64 sec; u64 nsec << shift }
 *  256        end of the used part; the rest of the page is reserved (zero)
 *
 * Clocks served from the page (all others always make the system call):
 *   high resolution: CLOCK_REALTIME 0, CLOCK_MONOTONIC 1, CLOCK_BOOTTIME 7,
 *                    CLOCK_TAI 11: base + (rdtsc - cycle_last) * mult >> shift
 *   coarse:          CLOCK_REALTIME_COARSE 5, CLOCK_MONOTONIC_COARSE 6: the
 *                    base alone, as Linux does; with VVAR_F_COARSE_TSC they
 *                    advance with the TSC too (for a kernel that does not
 *                    refresh the page every tick).
 *   time() is the seconds of CLOCK_REALTIME_COARSE.
 * A TSC value behind cycle_last counts as no time elapsed (delta 0).
 * The product is computed exactly (96 bits), so any shift up to 32 works;
 * base nsec << shift must fit in 64 bits (shift <= 34).
 */
#ifndef SYSGATE_VVAR_H
#define SYSGATE_VVAR_H

#define VVAR_SIZE		4096
#define VVAR_CLOCK_MODE_NONE	0
#define VVAR_CLOCK_MODE_TSC	1
#define VVAR_F_COARSE_TSC	0x1
#define VVAR_F_GETCPU		0x2
#define VVAR_NR_BASES		12

#ifndef __ASSEMBLER__

typedef unsigned int		vv_u32;
typedef int			vv_s32;
typedef unsigned long long	vv_u64;

struct vvar_timestamp {
	vv_u64 sec;
	vv_u64 nsec;		/* nanoseconds << shift */
};

struct vvar_page {
	vv_u32 seq;
	vv_u32 clock_mode;
	vv_u64 cycle_last;
	vv_u32 mult;
	vv_u32 shift;
	vv_u32 flags;
	vv_u32 hrtimer_res;
	vv_u32 coarse_res;
	vv_s32 tz_minuteswest;
	vv_s32 tz_dsttime;
	vv_u32 cpu;
	vv_u32 node;
	vv_u32 reserved[3];
	struct vvar_timestamp basetime[VVAR_NR_BASES];
} __attribute__((aligned(64)));

#define VVAR_CHECK(field, off) \
	_Static_assert(__builtin_offsetof(struct vvar_page, field) == (off), #field)
VVAR_CHECK(seq, 0);
VVAR_CHECK(clock_mode, 4);
VVAR_CHECK(cycle_last, 8);
VVAR_CHECK(mult, 16);
VVAR_CHECK(shift, 20);
VVAR_CHECK(flags, 24);
VVAR_CHECK(hrtimer_res, 28);
VVAR_CHECK(coarse_res, 32);
VVAR_CHECK(tz_minuteswest, 36);
VVAR_CHECK(tz_dsttime, 40);
VVAR_CHECK(cpu, 44);
VVAR_CHECK(node, 48);
VVAR_CHECK(basetime, 64);
_Static_assert(sizeof(struct vvar_page) == 256, "vvar_page size");
#undef VVAR_CHECK

#endif /* __ASSEMBLER__ */
#endif /* SYSGATE_VVAR_H */
