"""SYSCALL from 64-bit code: entry_SYSCALL_64 and do_syscall_64.

The CPU saved the return RIP in RCX and RFLAGS in R11 (in Unicorn's own
SYSCALL hook, cpu.regbatch.RegFile.syscall_saves, or the gate's read
where that is missing); the call returns by
SYSRET when sysret_allowed (entry.syscall) says the frame lets it, else by
IRET, which restores pt_regs (where SYSCALL had put RCX and R11).
"""
from ..kernel.errors import KernelError
from ..kernel.signal import GuestSignal
from ..kernel.task import ExitGroup
from ..kernel.sched import now_ns
from ..kernel.tables.unistd import NR_X86_64
from .common import (_RESTART_HI, _RESTART_LO, MASK64, do_syscall, ended, exit_work, failed,
                     iret, single_step_after)
from .ptregs import PtRegs
from .syscall import SYSRET_FLAGS, TASK_SIZE_MAX, USER32_CS, USER_CS, USER_DS, sysret_allowed

M32 = 0xFFFFFFFF
ENOSYS = 38


def fast_entry(gate, read, slow, compat=None):
    """gate.syscall_insn for the common case, in one function: a 64-bit
    process with one thread, nothing observing its calls (no trace, no
    gdb stub or tracer), a frame SYSRET may return to. It is do_syscall_64,
    do_syscall and the SYSRET return with the checks that cannot change
    during the call made once; anything else goes to slow(vals), the
    gate's generic route (compat(vals) first for SYSCALL from 32-bit code,
    when given: fast32.fast_entry32). read: the registers of
    ptregs.ENTRY_NAMES, with SYSCALL's RCX and R11 saved."""
    regs, machine, table, write_ax = gate.regs64, gate.machine, gate.table64, gate._write_ax
    ntable, count = len(table), gate.const_count
    constant = CONSTANT if gate.constants is not None else frozenset()
    gprs = gate._gprs
    if gprs is None:
        gprs = _Rax(write_ax)

    def syscall_insn():
        vals = read()
        nr, _, a2, _, _, _, a1, a0, a4, a5, a3, flags, ip, _, cs, ss = vals
        ret = ip + 2
        if cs != USER_CS or ss != USER_DS or flags & SYSRET_FLAGS or ret >= TASK_SIZE_MAX \
                or gate.threaded or gate.trace is not None or machine.debug is not None:
            if cs == USER32_CS and compat is not None:
                return compat(vals)
            return slow(vals)
        task = gate.task
        if task.is64 is not True:
            task.set_abi(True)
        nr &= M32
        const = nr in constant
        if not const:
            count[0] = 0            # any other call may change what they answer
        args = (a0, a1, a2, a3, a4, a5)
        regs.orig_ax, regs.ax, regs.args = nr, -ENOSYS, args
        regs.ip = regs.cx = ret
        regs.flags = regs.r11 = flags
        regs.cs, regs.ss, regs.sp, regs.full, regs.exit_path = cs, ss, None, None, None
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
        if regs.full is None:
            regs.exit_path = "sysretq"
            gprs[0] = regs.ax & MASK64
            if const:
                keep_answer(gate, task, entry, nr, regs.ax)
        else:
            leave(gate, regs)
    return syscall_insn


# The calls whose answer is a constant of the process while it has one
# thread and makes no other call: getpid, gettid, getuid, geteuid,
# getgid, getegid (not getppid: a parent's death changes it; nor getpgrp:
# another process's setpgid does).
CONSTANT = frozenset(NR_X86_64[n] for n in ("getpid", "gettid", "getuid", "geteuid", "getgid",
                                            "getegid"))


def keep_answer(gate, task, entry, nr, ax):
    """A constant call answered here: from now on the machine-code stub
    (cpu.regbatch.ConstantCalls) answers it the same way, as long as
    nothing could see the call or change its answer. That holds until the
    table is emptied, which every other way in does (the other calls here,
    do_syscall, the i386 gates) and the run loop before each run of the
    CPU (a signal from outside, a stop of any kind, a debugger or tracer
    attaching, the trace turned on: all come through a stop). Kept only
    now, when nothing is to be done on the way out (no signal pending, no
    timer armed: they are seen on the way out of every call), nothing
    observes the calls, and the handler is sysgate's own (not one a caller
    put in its place: Machine.replace_handler, /proc/PID/mem's)."""
    if keepable(gate, task, entry, ax):
        gate.constants.keep(nr, ax)


def keepable(gate, task, entry, ax):
    """Whether a constant call's answer may be kept (see keep_answer)."""
    return not (ax < 0 or entry is None or entry.fn is not entry.call.call or task.pending
                or task.host.pending or task.timers.deadline is not None or gate.threaded
                or gate.trace is not None or gate.machine.debug is not None)


class _Rax:
    """gprs[0] = value as the register file's store, through the gate's
    batched write where the register file is not known."""
    __slots__ = ("_write",)

    def __init__(self, write):
        self._write = write

    def __setitem__(self, i, value):
        self._write((value,))


def do_syscall_64(gate, vals):
    """vals: the registers of ptregs.ENTRY_NAMES at the SYSCALL
    instruction, which has saved the return address in RCX and RFLAGS in
    R11."""
    nr, _, a2, _, _, _, a1, a0, a4, a5, a3, flags, ip, _, cs, ss = vals
    ret = ip + 2
    # The number is an int (entry_SYSCALL_64: movslq %eax): the upper
    # half of RAX is ignored, and a negative one is past the table.
    nr &= M32
    args = (a0, a1, a2, a3, a4, a5)
    cs &= 0xFFFF
    ss &= 0xFFFF
    plain = gate.trace is None and gate.machine.debug is None
    if plain and not gate.threaded:
        # The gate's own pt_regs, filled in place (ptregs: nobody keeps
        # one past its call when nothing observes the calls).
        regs = gate.regs64
        regs.orig_ax, regs.ax, regs.args = nr, -38, args
        regs.ip = regs.cx = ret
        regs.flags = regs.r11 = flags
        regs.cs, regs.ss, regs.sp, regs.full, regs.exit_path = cs, ss, None, None, None
    else:
        regs = PtRegs("syscall", "x86_64", nr, args, ret, flags, None, cs, ss)
        regs.cx, regs.r11 = ret, flags
    # sysret_allowed, decided on the entry's values: RCX, R11, RIP, RFLAGS
    # and the selectors change only with a rewritten frame (full), which
    # returns by IRET anyway.
    fast = cs == USER_CS and ss == USER_DS and ret < TASK_SIZE_MAX and not flags & SYSRET_FLAGS
    do_syscall(gate, regs, gate.table64, True, leave_sysret if fast else leave, plain, nr, args)


def leave_sysret(gate, regs):
    if regs.full is None:
        regs.exit_path = "sysretq"
        gate._write_ax((regs.ax & MASK64,))
        return
    leave(gate, regs)


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
