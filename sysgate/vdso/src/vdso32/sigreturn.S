/*
 * __kernel_sigreturn and __kernel_rt_sigreturn: where a 32-bit signal
 * handler returns to when it gave no SA_RESTORER (the kernel puts their
 * addresses in the frame's pretcode).
 *
 * Their unwind information describes the signal frame, so that a debugger
 * or an unwinder can step from a handler back into the interrupted code:
 * the caller's frame is the sigcontext the kernel saved. The CFA is the
 * saved %esp and every register is found in the sigcontext; both are DWARF
 * expressions on the current %esp (DW_CFA_def_cfa_expression,
 * DW_CFA_expression), as in Linux's vdso32/sigreturn.S.
 *
 * Frames (arch/x86/include/asm/sigframe.h), after the handler's ret popped
 * pretcode:
 *   sigframe_ia32:    sig, sigcontext (at %esp + 4; + 0 after popl %eax)
 *   rt_sigframe_ia32: sig, pinfo, puc, siginfo (128), ucontext; the
 *                     sigcontext is uc_mcontext, at ucontext + 20, so at
 *                     %esp + 4 + 4 + 4 + 128 + 20 = %esp + 160
 * i386 sigcontext offsets: di 16, si 20, bp 24, sp 28, bx 32, dx 36, cx 40,
 * ax 44, ip 56. DWARF i386 registers: eax 0, ecx 1, edx 2, ebx 3, esp 4,
 * ebp 5, esi 6, edi 7, eip 8.
 *
 * An unwinder looks up (return address - 1) unless the frame is a signal
 * frame; so each FDE starts one byte early, on a nop before the entry
 * point, and the CIE carries the "S" (signal frame) augmentation.
 */
#include <asm/unistd_32.h>

#define SC_DI	16
#define SC_SI	20
#define SC_BP	24
#define SC_SP	28
#define SC_BX	32
#define SC_DX	36
#define SC_CX	40
#define SC_AX	44
#define SC_IP	56
#define RT_SC	160

#define DW_CFA_def_cfa_expression	0x0f
#define DW_CFA_expression		0x10
#define DW_OP_breg4			0x74
#define DW_OP_deref			0x06

/* Offsets are written as two-byte SLEB128 (valid for 0..8191), so every
 * expression has a fixed length: CFA = *(%esp + off), reg at %esp + off. */
#define SLEB(v)	(((v) & 0x7f) | 0x80), (((v) >> 7) & 0x3f)
#define CFA_AT(v)	.cfi_escape DW_CFA_def_cfa_expression, 4, DW_OP_breg4, SLEB(v), DW_OP_deref
#define REG_AT(r, v)	.cfi_escape DW_CFA_expression, r, 3, DW_OP_breg4, SLEB(v)

#define SIGCONTEXT_AT(b)		\
	CFA_AT((b) + SC_SP);		\
	REG_AT(0, (b) + SC_AX);		\
	REG_AT(1, (b) + SC_CX);		\
	REG_AT(2, (b) + SC_DX);		\
	REG_AT(3, (b) + SC_BX);		\
	REG_AT(5, (b) + SC_BP);		\
	REG_AT(6, (b) + SC_SI);		\
	REG_AT(7, (b) + SC_DI);		\
	REG_AT(8, (b) + SC_IP)

	.text
	.globl	__kernel_sigreturn
	.type	__kernel_sigreturn, @function
	.cfi_startproc simple
	.cfi_signal_frame
	SIGCONTEXT_AT(4)
	nop
	.p2align 5, 0x90
__kernel_sigreturn:
	popl	%eax
	SIGCONTEXT_AT(0)
	movl	$__NR_sigreturn, %eax
	int	$0x80
	.cfi_endproc
	.size	__kernel_sigreturn, . - __kernel_sigreturn

	.globl	__kernel_rt_sigreturn
	.type	__kernel_rt_sigreturn, @function
	.cfi_startproc simple
	.cfi_signal_frame
	SIGCONTEXT_AT(RT_SC)
	nop
	.p2align 5, 0x90
__kernel_rt_sigreturn:
	movl	$__NR_rt_sigreturn, %eax
	int	$0x80
	.cfi_endproc
	.size	__kernel_rt_sigreturn, . - __kernel_rt_sigreturn

	.section .note.GNU-stack, "", @progbits
