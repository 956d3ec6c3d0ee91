/*
 * What differs between the two images: the TSC read, the system call used
 * as a fallback, and the exact (delta * mult + base) >> shift arithmetic.
 * System-call numbers come from the kernel's own unistd headers.
 */
#ifndef SYSGATE_VDSO_ARCH_H
#define SYSGATE_VDSO_ARCH_H

#include "vvar.h"

typedef unsigned int		u32;
typedef int			s32;
typedef unsigned long long	u64;
typedef long long		s64;

#define NSEC_PER_SEC	1000000000u

#define barrier()	__asm__ __volatile__("" ::: "memory")
#define READ_ONCE(x)	(*(const volatile __typeof__(x) *)&(x))

/* lfence orders rdtsc after the earlier loads (the seq read), as Linux's
 * rdtsc_ordered() does. */
static inline __attribute__((always_inline)) u64 rdtsc_ordered(void)
{
	u32 lo, hi;
	__asm__ __volatile__("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
	return ((u64)hi << 32) | lo;
}

static inline __attribute__((always_inline)) void cpu_relax(void)
{
	__asm__ __volatile__("pause" ::: "memory");
}

#ifdef __x86_64__
#include <asm/unistd_64.h>

static inline __attribute__((always_inline))
long syscall2(long nr, long a, long b)
{
	long ret;
	__asm__ __volatile__("syscall"
			     : "=a"(ret)
			     : "0"(nr), "D"(a), "S"(b)
			     : "rcx", "r11", "memory");
	return ret;
}

static inline __attribute__((always_inline))
long syscall3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ __volatile__("syscall"
			     : "=a"(ret)
			     : "0"(nr), "D"(a), "S"(b), "d"(c)
			     : "rcx", "r11", "memory");
	return ret;
}

/* (a * m + b) >> s, exactly. */
static inline __attribute__((always_inline))
u64 mul_add_shr(u64 a, u32 m, u64 b, u32 s)
{
	unsigned __int128 p = (unsigned __int128)a * m + b;
	return (u64)(p >> (s & 63));
}

/* *n /= 10^9, returning the remainder. */
static inline __attribute__((always_inline)) u32 div_nsec(u64 *n)
{
	u32 rem = (u32)(*n % NSEC_PER_SEC);
	*n /= NSEC_PER_SEC;
	return rem;
}

#else /* i386 */
#include <asm/unistd_32.h>

static inline __attribute__((always_inline))
long syscall2(long nr, long a, long b)
{
	long ret;
	__asm__ __volatile__("int $0x80"
			     : "=a"(ret)
			     : "0"(nr), "b"(a), "c"(b)
			     : "memory");
	return ret;
}

static inline __attribute__((always_inline))
long syscall3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ __volatile__("int $0x80"
			     : "=a"(ret)
			     : "0"(nr), "b"(a), "c"(b), "d"(c)
			     : "memory");
	return ret;
}

/* (a * m + b) >> s, exactly: the product has up to 96 bits. A TSC delta
 * under 2^32 (the usual case: the page is refreshed often) takes one
 * 32x32 multiply when the sum does not carry out of 64 bits. */
static inline __attribute__((always_inline))
u64 mul_add_shr(u64 a, u32 m, u64 b, u32 s)
{
	if (__builtin_expect(!(u32)(a >> 32), 1)) {
		u64 p = (u64)(u32)a * m + b;

		if (__builtin_expect(p >= b, 1))
			return p >> (s & 63);
	}
	u64 lo = (u64)(u32)a * m;		/* weight 2^0 */
	u64 hi = (u64)(u32)(a >> 32) * m;	/* weight 2^32 */
	u64 low64 = lo + b;
	u32 carry = low64 < lo;			/* weight 2^64 */
	u64 mid = (low64 >> 32) + (u32)hi;	/* limb 1, and a carry into limb 2 */
	u64 top = (mid >> 32) + (hi >> 32) + carry;	/* limbs 2.. */
	u64 lower = (mid << 32) | (u32)low64;

	s &= 63;
	if (s == 0)
		return lower;
	return (lower >> s) | (top << (64 - s));
}

/* *n /= 10^9, returning the remainder: under 2^32 (a few seconds past the
 * base, the usual case) by subtraction, else two 32-bit divisions (no
 * libgcc). */
static inline __attribute__((always_inline)) u32 div_nsec(u64 *n)
{
	u32 hi = (u32)(*n >> 32), lo = (u32)*n;

	if (__builtin_expect(!hi, 1)) {
		u32 q = 0;

		while (lo >= NSEC_PER_SEC) {
			lo -= NSEC_PER_SEC;
			q++;
		}
		*n = q;
		return lo;
	}
	u32 qhi = hi / NSEC_PER_SEC, rem = hi % NSEC_PER_SEC, qlo;

	__asm__("divl %4" : "=a"(qlo), "=d"(rem) : "0"(lo), "1"(rem), "rm"(NSEC_PER_SEC));
	*n = ((u64)qhi << 32) | qlo;
	return rem;
}
#endif

#endif /* SYSGATE_VDSO_ARCH_H */
