"""The one way back to user mode, as Linux's exit_to_user_mode_loop: fire
due timers, decide a restart for a system call a signal interrupted, and
deliver pending signals by building their frames.

Every crossing leaves through here: system calls from common.do_syscall
(when work is pending), interrupts (a timer, a signal from outside, a
thread switched back in) and traps from the run loop (entry.traps). Any of
these rewrites the frame, so a system call then returns through IRET.
"""
from ..kernel.sched import ERESTART_RESTARTBLOCK, ERESTARTNOHAND, ERESTARTSYS
from ..kernel.sigframe import SA_RESTART
from ..kernel.signal import deliver, deliverable, has_handler
from ..kernel.tables.unistd import NR_I386, NR_X86_64

EINTR = 4
ERESTART_MIN, ERESTART_MAX = ERESTARTSYS, ERESTART_RESTARTBLOCK
MASK64 = (1 << 64) - 1
NR_RESTART = {"x86_64": NR_X86_64["restart_syscall"], "i386": NR_I386["restart_syscall"]}


def exit_to_user_mode_loop(task, regs=None):
    """The exit work. regs: the pt_regs of a system call on its way out
    (its restart is decided here), or None for an interrupt or a trap.
    Every pending, unblocked signal is delivered before user code runs
    again, each frame on top of the last (so the last one's handler runs
    first), and a fatal one behind a handled one (SIGTERM behind a timer's
    SIGALRM) still ends the program now."""
    task.timers.expire()
    if regs is not None:
        _signal_or_restart(task, regs)
        if regs.full is None:
            return
        signo = deliverable(task)
        while signo:
            new = deliver(task, signo, regs.full, task.thread.read_fpu())
            if new is not None:
                regs.full = new
            signo = deliverable(task)
        return
    # Each delivery clears its signal or blocks it.
    signo = deliverable(task)
    while signo:
        deliver_signal(task, signo, task.thread.read_regs())
        signo = deliverable(task)


def irqentry_exit_to_user_mode(task):
    """The return from an interrupt: deliver what became pending."""
    exit_to_user_mode_loop(task)


def deliver_signal(task, signo, regs, *args, **kw):
    """Deliver signo to user code stopped with regs (the user register
    file); True if a handler's frame now holds the CPU."""
    thread = task.thread
    new = deliver(task, signo, regs, thread.read_fpu(), *args, **kw)
    if new is not None:
        thread.write_regs(new)
    return new is not None


def _signal_or_restart(task, regs):
    """arch_do_signal_or_restart for a system call's pt_regs: the restart
    decision, then the first pending, unblocked signal's frame. regs.full
    ends up holding the registers to return to (forcing IRET), or None
    when there was nothing to do."""
    signo = deliverable(task)
    handled = bool(signo) and has_handler(task, signo)
    # A frame rewritten by the call itself (sigreturn) is final: its
    # registers are the interrupted ones, never a restart candidate, as
    # Linux's restore_sigcontext sets orig_ax = -1.
    rewritten = regs.full is not None
    restart = -regs.ax if not rewritten and -ERESTART_MAX <= regs.ax <= -ERESTART_MIN else 0
    ip, ax = regs.ip, regs.ax
    if restart:
        act_flags = task.sigactions[signo][1] if handled else 0
        if handled and (restart in (ERESTARTNOHAND, ERESTART_RESTARTBLOCK)
                        or restart == ERESTARTSYS and not act_flags & SA_RESTART):
            ax = -EINTR
        elif not handled and restart == ERESTART_RESTARTBLOCK:
            ax, ip = NR_RESTART[regs.abi], ip - 2
        else:
            ax, ip = regs.orig_ax, ip - 2
    if not signo and not restart:
        return
    thread = task.thread
    if rewritten:
        base = regs.full
    else:
        base = user_regs_at_exit(regs, thread.read_regs())
        regs.ax = ax
        base["rax"], base["rip"] = ax & MASK64, ip
    saved, task.saved_sigmask = task.saved_sigmask, None
    new = deliver(task, signo, base, thread.read_fpu(), oldmask=saved) if signo else None
    if new is None and saved is not None:
        task.sigmask = saved
    regs.full = new if new is not None else base


def user_regs_at_exit(regs, cur):
    """The user registers as the return to user mode would leave them
    (cur: the register file as the gate found it)."""
    cur["rax"] = regs.ax & MASK64
    cur["rip"] = regs.ip
    if regs.gate == "syscall" and regs.abi == "x86_64":
        cur["rcx"], cur["r11"] = regs.cx, regs.r11
    elif regs.gate == "vsyscall":
        cur["rsp"] = regs.sp
    elif regs.gate != "int80":
        cur["rsp"], cur["rbp"], cur["rcx"] = regs.sp, regs.args[5], regs.cx
    return cur
