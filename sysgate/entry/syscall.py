"""The fast-return decisions: may do_syscall_64 (entry.syscall64) return by
SYSRET, and do_fast_syscall_32 (entry.fast32) by SYSRETL? Each written
check by check as Linux writes it, as pure predicates on pt_regs."""
from ..cpu.engine import USER_CS, USER_DS, USER32_CS

X86_EFLAGS_TF, X86_EFLAGS_RF, X86_EFLAGS_VM = 1 << 8, 1 << 16, 1 << 17
TASK_SIZE_MAX = (1 << 47) - 0x1000
SYSRET_FLAGS = X86_EFLAGS_RF | X86_EFLAGS_TF


def sysret_allowed(regs):
    """May do_syscall_64 return with SYSRET rather than IRET?
    (arch/x86/entry/common.c: the registers SYSRET cannot restore must
    already hold what SYSRET would put there.)"""
    if regs.cx != regs.ip or regs.r11 != regs.flags:
        return False      # SYSRET loads RIP from RCX and RFLAGS from R11
    if regs.cs != USER_CS or regs.ss != USER_DS:
        return False      # SYSRET can only return to the flat 64-bit segments
    if regs.ip >= TASK_SIZE_MAX:
        return False      # non-canonical RIP would #GP in ring 0 on Intel
    if regs.flags & SYSRET_FLAGS:
        return False      # SYSRET cannot restore RF; TF would trap in the kernel
    return True


def sysretl_allowed(regs, landing_pad):
    """May do_fast_syscall_32 return with SYSRETL (the 64-bit kernel's fast
    compat return, used for both SYSENTER and SYSCALL entries)?"""
    if regs.cs != USER32_CS or regs.ss != USER_DS:
        return False
    if regs.ip != landing_pad:
        return False      # the frame was rewritten (signal, execve): IRET
    if regs.flags & (X86_EFLAGS_RF | X86_EFLAGS_TF | X86_EFLAGS_VM):
        return False
    return True
