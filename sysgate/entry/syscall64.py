"""SYSCALL from 64-bit code: entry_SYSCALL_64 and do_syscall_64.

The CPU saved the return RIP in RCX and RFLAGS in R11 (in Unicorn's own
SYSCALL hook, cpu.regbatch.RegFile.syscall_saves, or the gate's read
where that is missing); the call returns by
SYSRET when sysret_allowed (entry.syscall) says the frame lets it, else by
IRET, which restores pt_regs (where SYSCALL had put RCX and R11).
"""
from .common import MASK64, do_syscall, iret, single_step_after
from .ptregs import PtRegs
from .syscall import sysret_allowed

M32 = 0xFFFFFFFF


def do_syscall_64(gate, vals):
    """vals: the registers of ptregs.ENTRY_NAMES at the SYSCALL
    instruction, which has saved the return address in RCX and RFLAGS in
    R11."""
    nr, _, a2, _, _, _, a1, a0, a4, a5, a3, flags, ip, _, cs, ss = vals
    ret = ip + 2
    # The number is an int (entry_SYSCALL_64: movslq %eax): the upper
    # half of RAX is ignored, and a negative one is past the table.
    regs = PtRegs("syscall", "x86_64", nr & M32, (a0, a1, a2, a3, a4, a5), ret, flags,
                  None, cs & 0xFFFF, ss & 0xFFFF)
    regs.cx, regs.r11 = ret, flags
    do_syscall(gate, regs, gate.table64, True, leave)


def leave(gate, regs):
    # RCX and R11 hold what SYSCALL put there: SYSRET
    # returns with them, and so does IRET from pt_regs, which has them too.
    if regs.full is None and sysret_allowed(regs):
        regs.exit_path = "sysretq"
        gate._write_ax((regs.ax & MASK64,))
        return
    regs.exit_path = "iret"
    if regs.full is None:
        gate._write_ax((regs.ax & MASK64,))
    else:
        iret(gate, regs, insn_hook=True)
    single_step_after(gate, regs, regs.cx, regs.r11)
