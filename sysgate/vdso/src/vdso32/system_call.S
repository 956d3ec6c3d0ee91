/*
 * __kernel_vsyscall, the AT_SYSINFO entry point of 32-bit programs, laid
 * out as Linux's arch/x86/entry/vdso/vdso32/system_call.S:
 *
 *	pushl %ecx; pushl %edx; pushl %ebp
 *	<alternative slot>	ALT_SLOT_SIZE bytes of NOPs as built (the
 *				INT 0x80 gate); the kernel patches it at boot
 *				with "movl %esp,%ebp; sysenter" (Intel) or
 *				"movl %ecx,%ebp; syscall" (AMD)
 *	int $0x80
 * int80_landing_pad:
 *	popl %ebp; popl %edx; popl %ecx; ret
 *
 * A fast-path return (SYSEXIT, SYSRETL) lands at int80_landing_pad; a
 * restarted system call (IP -= 2) executes the int $0x80 before it.
 *
 * Linux does the patching with its alternatives machinery; here the two
 * replacement sequences are assembled into the non-loaded section
 * .sysgate_alt, and the build (genmeta.py) records them with the slot's
 * offset and size in vdso32.json, for sysgate.vdso.images.patch_vsyscall.
 */
#define ALT_SLOT_SIZE	4

	.section .sysgate_alt, "", @progbits
	.globl	sysgate_alt_sysenter, sysgate_alt_sysenter_end
	.globl	sysgate_alt_syscall, sysgate_alt_syscall_end
	.hidden	sysgate_alt_sysenter, sysgate_alt_sysenter_end
	.hidden	sysgate_alt_syscall, sysgate_alt_syscall_end
sysgate_alt_sysenter:
	movl	%esp, %ebp
	sysenter
sysgate_alt_sysenter_end:
sysgate_alt_syscall:
	movl	%ecx, %ebp
	syscall
sysgate_alt_syscall_end:
	.if (sysgate_alt_sysenter_end - sysgate_alt_sysenter) - ALT_SLOT_SIZE
	.error "the SYSENTER sequence does not fill the alternative slot"
	.endif
	.if (sysgate_alt_syscall_end - sysgate_alt_syscall) - ALT_SLOT_SIZE
	.error "the SYSCALL sequence does not fill the alternative slot"
	.endif

	.text
	.globl	__kernel_vsyscall
	.type	__kernel_vsyscall, @function
	.globl	int80_landing_pad, vsyscall_alt_slot, vsyscall_alt_slot_end
	.hidden	int80_landing_pad, vsyscall_alt_slot, vsyscall_alt_slot_end
	.p2align 4, 0x90
__kernel_vsyscall:
	.cfi_startproc
	pushl	%ecx
	.cfi_adjust_cfa_offset	4
	.cfi_rel_offset		%ecx, 0
	pushl	%edx
	.cfi_adjust_cfa_offset	4
	.cfi_rel_offset		%edx, 0
	pushl	%ebp
	.cfi_adjust_cfa_offset	4
	.cfi_rel_offset		%ebp, 0
vsyscall_alt_slot:
	.skip	ALT_SLOT_SIZE, 0x90
vsyscall_alt_slot_end:
	int	$0x80
int80_landing_pad:
	popl	%ebp
	.cfi_restore		%ebp
	.cfi_adjust_cfa_offset	-4
	popl	%edx
	.cfi_restore		%edx
	.cfi_adjust_cfa_offset	-4
	popl	%ecx
	.cfi_restore		%ecx
	.cfi_adjust_cfa_offset	-4
	ret
	.cfi_endproc
	.size	__kernel_vsyscall, . - __kernel_vsyscall

	.section .note.GNU-stack, "", @progbits
