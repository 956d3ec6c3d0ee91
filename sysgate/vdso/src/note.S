/*
 * The "Linux" ELF note every Linux vDSO carries: its descriptor is
 * LINUX_VERSION_CODE (KERNEL_VERSION(a, b, c) = a << 16 | b << 8 | c).
 * The build records the descriptor's offset (linux_version_offset in the
 * metadata) so the kernel can make it agree with the release uname reports.
 */
#ifndef LINUX_VERSION_CODE
#define LINUX_VERSION_CODE	((6 << 16) | (1 << 8) | 0)
#endif

	.section .note.Linux, "a", @note
	.globl	linux_version_code
	.hidden	linux_version_code
	.balign	4
	.long	2f - 1f		/* namesz */
	.long	4f - 3f		/* descsz */
	.long	0		/* type */
1:	.asciz	"Linux"
2:	.balign	4
3:
linux_version_code:
	.long	LINUX_VERSION_CODE
4:	.balign	4

	.section .note.GNU-stack, "", @progbits
