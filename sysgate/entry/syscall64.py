"""SYSCALL from 64-bit code: entry_SYSCALL_64 and do_syscall_64.

The CPU saved the return RIP in RCX and RFLAGS in R11; the call returns by
SYSRET when sysret_allowed (entry.syscall) says the frame lets it, else by
IRET, which restores pt_regs (where SYSCALL had put RCX and R11).
"""
from .common import MASK64, do_syscall, iret, single_step_after
from .ptregs import PtRegs
from .syscall import sysret_allowed

M32 = 0xFFFFFFFF
ENTRY64_NAMES = "rax rdi rsi rdx r10 r8 r9 rip eflags cs ss".split()


def do_syscall_64(gate, vals):
    """vals: the registers of ENTRY64_NAMES at the SYSCALL instruction."""
    nr, a0, a1, a2, a3, a4, a5, ip, flags, cs, ss = vals
    ret = ip + 2
    # The number is an int (entry_SYSCALL_64: movslq %eax): the upper
    # half of RAX is ignored, and a negative one is past the table.
    regs = PtRegs("syscall", "x86_64", nr & M32, (a0, a1, a2, a3, a4, a5), ret, flags,
                  None, cs & 0xFFFF, ss & 0xFFFF)
    regs.cx, regs.r11 = ret, flags      # what the SYSCALL instruction did
    do_syscall(gate, regs, gate.table64, True, leave)


def leave(gate, regs):
    ret, flags = regs.cx, regs.r11
    if regs.full is None and sysret_allowed(regs):
        regs.exit_path = "sysretq"
        gate._sysret64((regs.ax & MASK64, ret, flags))
        return
    regs.exit_path = "iret"
    if regs.full is None:
        # IRET restores pt_regs, where SYSCALL had put RCX and R11.
        gate._sysret64((regs.ax & MASK64, ret, flags))
    else:
        iret(gate, regs, insn_hook=True)
    single_step_after(gate, regs, ret, flags)
