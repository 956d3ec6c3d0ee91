"""INT 0x80 from 32- or 64-bit code: do_int80_syscall_32, the i386 ABI.
It always returns by IRET, which restores every register but RAX."""
from ..kernel.errors import KernelError
from ..kernel.sched import now_ns
from ..kernel.signal import GuestSignal
from ..kernel.task import ExitGroup
from .common import _RESTART_HI, _RESTART_LO, MASK64, do_syscall, ended, exit_work, failed, iret
from .ptregs import PtRegs
from .traps import do_interrupt

M32 = 0xFFFFFFFF
ENOSYS = 38


def fast_interrupt(gate, read, gprs, slow):
    """gate.interrupt, with INT 0x80's common case in one function (as
    syscall64.fast_entry): a process with one thread, nothing observing
    its calls; slow(vals) takes the rest. gprs: the register file's
    general registers in place (RegFile.gprs)."""
    regs, machine, table = gate.regs80, gate.machine, gate.table32
    ntable, count = len(table), gate.const_count

    def interrupt(vector):
        if vector != 0x80:
            return do_interrupt(gate, vector)
        vals = read()
        if gate.threaded or gate.trace is not None or machine.debug is not None:
            return slow(vals)
        ax, cx, dx, bx, sp, bp, si, di, _, _, _, _, ip, flags, cs, ss = vals
        count[0] = 0                # see entry.syscall64
        task = gate.task
        if task.is64 is not False:
            task.set_abi(False)
        nr, args = ax & M32, (bx, cx, dx, si, di, bp)
        regs.orig_ax, regs.ax, regs.args, regs.ip, regs.flags, regs.sp = nr, -ENOSYS, args, ip, \
            flags, sp
        regs.cs, regs.ss, regs.full, regs.exit_path = cs & 0xFFFF, ss & 0xFFFF, None, None
        gate.current = regs
        try:
            entry = table[nr] if nr < ntable else None
            if entry is None:
                ax = -ENOSYS
            else:
                try:
                    run = entry.run
                    ax = entry.fn(task) if run is None else run(entry, task, args)
                except (KernelError, OSError) as e:
                    ax = failed(task, e)
            regs.ax = ax
            if task.pending or task.host.pending or _RESTART_LO <= ax <= _RESTART_HI or (
                    task.timers.deadline is not None and now_ns() >= task.timers.deadline):
                exit_work(gate, task, regs)
        except ExitGroup as e:
            return ended(gate, regs, ("exit", e.status))
        except GuestSignal as s:
            return ended(gate, regs, ("signal", s.signo, s.why))
        regs.exit_path = "iret"
        if regs.full is None:
            gprs[0] = regs.ax & MASK64
        else:
            iret(gate, regs, insn_hook=False)
    return interrupt


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
