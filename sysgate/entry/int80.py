"""INT 0x80 from 32- or 64-bit code: do_int80_syscall_32, the i386 ABI.
It always returns by IRET, which restores every register but RAX."""
from .common import MASK64, do_syscall, iret
from .ptregs import PtRegs

M32 = 0xFFFFFFFF
# In the register file's order (cpu.regbatch.RegFile reads them in one
# unpack). sysflags: TF, IF, RF, VM... (the arithmetic flags may be missing):
# all an i386 entry or exit decides on, IRET restoring the flags themselves.
ENTRY32_NAMES = "rax rcx rdx rbx rsp rbp rsi rdi rip sysflags cs ss".split()
IP32, CS32 = ENTRY32_NAMES.index("rip"), ENTRY32_NAMES.index("cs")


def do_int80_syscall_32(gate, vals):
    """vals: the registers of ENTRY32_NAMES after the INT 0x80."""
    ax, cx, dx, bx, sp, bp, si, di, ip, flags, cs, ss = vals
    # Arguments stay raw: the i386 table's converters cut them to 32 bits.
    regs = PtRegs("int80", "i386", ax & M32, (bx, cx, dx, si, di, bp),
                  ip, flags, sp, cs & 0xFFFF, ss & 0xFFFF)
    do_syscall(gate, regs, gate.table32, False, leave)


def leave(gate, regs):
    regs.exit_path = "iret"
    if regs.full is None:
        gate._write_ax((regs.ax & MASK64,))
    else:
        iret(gate, regs, insn_hook=False)
