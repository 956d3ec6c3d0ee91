"""INT 0x80 from 32- or 64-bit code: do_int80_syscall_32, the i386 ABI.
It always returns by IRET, which restores every register but RAX."""
from .common import MASK64, do_syscall, iret
from .ptregs import PtRegs

M32 = 0xFFFFFFFF


def do_int80_syscall_32(gate, vals):
    """vals: the registers of ptregs.ENTRY_NAMES after the INT 0x80
    (flags: sysflags, which is all IRET needs decided)."""
    ax, cx, dx, bx, sp, bp, si, di, _, _, _, _, ip, flags, cs, ss = vals
    # Arguments stay raw: the i386 table's converters cut them to 32 bits.
    nr, args = ax & M32, (bx, cx, dx, si, di, bp)
    plain = gate.trace is None and gate.machine.debug is None
    if plain and not gate.threaded:
        regs = gate.regs80       # filled in place (see syscall64)
        regs.orig_ax, regs.ax, regs.args, regs.ip, regs.flags, regs.sp = nr, -38, args, ip, \
            flags, sp
        regs.cs, regs.ss, regs.full, regs.exit_path = cs & 0xFFFF, ss & 0xFFFF, None, None
    else:
        regs = PtRegs("int80", "i386", nr, args, ip, flags, sp, cs & 0xFFFF, ss & 0xFFFF)
    do_syscall(gate, regs, gate.table32, False, leave, plain, nr, args)


def leave(gate, regs):
    regs.exit_path = "iret"
    if regs.full is None:
        gate._write_ax((regs.ax & MASK64,))
    else:
        iret(gate, regs, insn_hook=False)
