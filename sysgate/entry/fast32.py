"""SYSENTER (Intel) and compat SYSCALL (AMD) from 32-bit code:
do_fast_syscall_32, entered from the vDSO's __kernel_vsyscall.

Linux's register convention: __kernel_vsyscall saved the user stack
pointer in EBP (SYSENTER) or ECX in EBP (SYSCALL), and pushed EBP, the
sixth argument, which the kernel reads back from the user stack. The call
returns to the vDSO's landing pad by SYSRETL when sysretl_allowed
(entry.syscall) says so, else by IRET.
"""
from ..cpu.engine import REG, USER_DS, USER32_CS
from ..cpu.ucraw import _U32
from ..kernel.errors import KernelError
from ..kernel.sched import now_ns
from ..kernel.signal import GuestSignal
from ..kernel.task import ExitGroup
from ..kernel.tables.unistd import NR_I386
from .common import (_RESTART_HI, _RESTART_LO, MASK64, do_syscall, ended, exit_work, failed,
                     iret, single_step_after)
from .ptregs import IP_AT, PtRegs
from .syscall import X86_EFLAGS_RF, X86_EFLAGS_TF, X86_EFLAGS_VM, sysretl_allowed
from .syscall64 import keepable

EFAULT = 14
ENOSYS = 38
M32 = 0xFFFFFFFF
SYSRETL_FLAGS = X86_EFLAGS_RF | X86_EFLAGS_TF | X86_EFLAGS_VM


def fast_entry32(gate, which, read, gprs, slow):
    """do_fast_syscall_32's common case in one function (as
    syscall64.fast_entry): from 32-bit code, a process with one thread,
    nothing observing its calls, the sixth argument readable in place;
    slow(vals) takes the rest. The return is SYSRETL's when
    sysretl_allowed would say so, decided on the entry's values (the
    selectors and flags change only with a rewritten frame, full).
    which: "sysenter" (gate.sysenter_insn, called with no argument: it
    reads the registers) or "syscall" (compat SYSCALL, called by
    syscall64.fast_entry with the registers it read)."""
    regs, machine, table, cpu = gate.regs32[which], gate.machine, gate.table32, gate.cpu
    user_u32 = cpu.user_u32
    ntable, count = len(table), gate.const_count
    sysenter = which == "sysenter"
    constants = gate.constants32
    if constants is None or constants.which != which:
        constants, constant = None, frozenset()
    else:
        constant = CONSTANT32

    def enter(vals=None):
        if vals is None:
            vals = read()
        ax, cx, dx, bx, sp, bp, si, di, _, _, _, _, ip, flags, cs, ss = vals
        if cs != USER32_CS or gate.threaded or gate.trace is not None \
                or machine.debug is not None:
            return slow(vals)
        if sysenter:
            # SYSENTER loses ESP (the vDSO saved it in EBP) and clears IF,
            # which Linux assumes was set (do_SYSENTER_32).
            sp, cx = bp & M32, cx & M32
            flags |= 0x200
        else:
            sp, cx = sp & M32, bp & M32     # compat SYSCALL: ECX is in EBP
        lo, hi, delta = cpu._u32_seen
        if lo <= sp and sp + 4 <= hi:
            arg6 = _U32(sp + delta).value   # user_u32's own first step, without its call
        else:
            arg6 = user_u32(sp)
            if arg6 is None:
                return slow(vals)           # the checked read, or its EFAULT
        nr = ax & M32
        const = nr in constant
        if not const:
            count[0] = 0            # see entry.syscall64
        task = gate.task
        if task.is64 is not False:
            task.set_abi(False)
        landing = gate.landing_pad
        if landing is None:
            landing = ip + 2
        args = (bx, cx, dx, si, di, arg6)
        regs.orig_ax, regs.ax, regs.args, regs.ip, regs.flags, regs.sp = nr, -ENOSYS, args, \
            landing, flags, sp
        regs.cx, regs.cs, regs.ss, regs.full, regs.exit_path = cx, cs, ss & 0xFFFF, \
            None, None
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
        if regs.full is None and ss == USER_DS and not flags & SYSRETL_FLAGS:
            # _fast32's stores: EAX, ECX (SYSRETL's EIP), ESP, EBP and EIP
            # less the instruction's length, which Unicorn adds after the hook
            regs.exit_path = "sysretl"
            gprs[0] = regs.ax & MASK64
            gprs[1] = landing
            gprs[4] = regs.sp
            gprs[5] = regs.args[5]
            gprs[16] = landing - 2
            if const and gate.landing_pad is not None:
                keep_answer32(gate, constants, task, entry, nr, regs.ax, sp)
        else:
            leave(gate, regs)
    return enter


# The i386 calls whose answer is a constant of the process (see
# entry.syscall64's CONSTANT): getpid, gettid and the 32-bit id calls.
CONSTANT32 = frozenset(NR_I386[n] for n in ("getpid", "gettid", "getuid32", "geteuid32",
                                            "getgid32", "getegid32"))


def keep_answer32(gate, constants, task, entry, nr, ax, sp):
    """syscall64.keep_answer for __kernel_vsyscall's gate: the i386 stub
    (cpu.regbatch.ConstantCalls32) answers nr from now on, while the
    stack's page that this call's sixth argument was read from stays where
    protections.user_u32 found it (every map, unmap or protect is a call
    that empties the table)."""
    window = gate.cpu._u32_seen
    if keepable(gate, task, entry, ax) and window[0] <= sp and sp + 4 <= window[1]:
        constants.keep(nr, ax, gate.landing_pad, window)


def do_fast_syscall_32(gate, which, vals):
    """which: 'sysenter' or 'syscall'; vals: the registers of
    ptregs.ENTRY_NAMES at the instruction (flags: sysflags)."""
    ax, cx, dx, bx, sp, bp, si, di, _, _, _, _, ip, flags, cs, ss = vals
    if which == "sysenter":
        # SYSENTER loses ESP (the vDSO saved it in EBP) and clears IF,
        # which Linux assumes was set (do_SYSENTER_32).
        sp, cx = bp & M32, cx & M32
        flags |= 0x200
    else:
        cx = bp & M32
    landing = gate.landing_pad if gate.landing_pad is not None else ip + 2
    nr = ax & M32
    plain = gate.trace is None and gate.machine.debug is None
    if plain and not gate.threaded:
        regs = gate.regs32[which]        # filled in place (see syscall64)
        regs.orig_ax, regs.ax, regs.args, regs.ip, regs.flags, regs.sp = nr, -38, None, \
            landing, flags, sp & M32
        regs.cx, regs.cs, regs.ss, regs.full, regs.exit_path = cx, cs & 0xFFFF, ss & 0xFFFF, \
            None, None
    else:
        regs = PtRegs(which, "i386", nr, None, landing, flags, sp & M32, cs & 0xFFFF,
                      ss & 0xFFFF)
        regs.cx = cx
    try:
        arg6 = gate.cpu.user_u32(regs.sp)      # host memory in place: no Unicorn call
        if arg6 is None:
            arg6 = gate.task.mm.read_u32(regs.sp)
    except KernelError:
        # Linux returns -EFAULT through IRET, with EBP zeroed: the failed
        # get_user() into regs->bp stores 0.
        regs.ax = -EFAULT
        regs.args = (bx & M32, cx, dx & M32, si & M32, di & M32, 0)
        regs.full = {}
        return do_syscall(gate, regs, None, False, leave, plain, nr, regs.args)
    regs.args = args = (bx, cx, dx, si, di, arg6)
    do_syscall(gate, regs, gate.table32, False, leave, plain, nr, args)


def leave(gate, regs):
    # Out through _fast32: EAX, ECX, ESP, EBP and EIP (less the instruction's
    # length, which Unicorn adds after the hook: the landing pad, or the
    # instruction's end where there is none).
    landing = regs.ip
    if regs.full is None and sysretl_allowed(regs, landing):
        regs.exit_path = "sysretl"
        # SYSRETL takes the return EIP from ECX
        gate._fast32((regs.ax & MASK64, landing, regs.sp, regs.args[5], landing - 2))
        return
    regs.exit_path = "iret"
    if regs.full:
        iret(gate, regs, insn_hook=True)
    else:
        gate._fast32((regs.ax & MASK64, regs.cx, regs.sp, regs.args[5], landing - 2))
    single_step_after(gate, regs, landing, regs.flags)


def repair_async_stop(gate):
    """After a stop requested from another thread (a host signal).
    Unicorn 2.1.4 can end such a stop, when it lands in the block that
    leads into a SYSENTER, with EIP back at the block's start although
    the block's instructions ran. In __kernel_vsyscall the prologue
    (push ecx; push edx; push ebp; mov %esp,%ebp) tells: EBP equal to
    ESP means it all ran, and the SYSENTER is next."""
    window = gate.sysenter_window
    if window is None:
        return
    cur = gate._read()
    ip, bp, sp = cur[IP_AT], cur[5], cur[4]
    if window[0] <= ip < window[1] and bp == sp:
        gate.cpu.reg_write(REG["rip"], window[1])
