"""Signals: actions, the blocked mask, the alternate stack, signals a task
sends itself, and delivery on the way back to user mode (frames in
sigframe.py), as kernel/signal.c and arch/x86/kernel/signal.c. Signals to
others are in sigsend.py, waiting for them in sigwait.py, the i386 originals
of the rt_ calls in sigcompat.py."""
import struct

from ..abi.consts import (SA_NOCLDWAIT, SI_KERNEL, SI_TKILL, SI_USER, SIG_BLOCK,  # noqa: F401
                          SIG_SETMASK, SIG_UNBLOCK, SIGSEGV, SIGTSTP, SIGTTIN, SIGTTOU)
from . import sigframe
from .errors import KernelError, E
from .registry import syscall
from .session import guest_processes  # noqa: F401  (ptrace's import)
from .sigqueue import SIGRTMIN
from .sigpending import (CLD_EXITED, DEFAULT_IGNORE, SA_NOCLDSTOP, SIG_DFL,  # noqa: F401
                         SIG_IGN, SIGCHLD, SIGKILL, SIGSTOP, absorb_host_signals, ignored)

NSIG = 64
UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))

NAMES = {1: "Hangup", 2: "Interrupt", 3: "Quit", 4: "Illegal instruction",
         5: "Trace/breakpoint trap", 6: "Aborted", 7: "Bus error",
         8: "Floating point exception", 9: "Killed", 10: "User defined signal 1",
         11: "Segmentation fault", 12: "User defined signal 2", 13: "Broken pipe",
         14: "Alarm clock", 15: "Terminated", 16: "Stack fault", 24: "CPU time limit exceeded",
         25: "File size limit exceeded", 26: "Virtual timer expired",
         27: "Profiling timer expired", 29: "I/O possible", 30: "Power failure",
         31: "Bad system call"}
DEFAULT_STOP = {SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU}


class GuestSignal(Exception):
    """The guest dies of signal signo (raised where the signal arises)."""

    def __init__(self, signo, why=""):
        super().__init__(signo, why)
        self.signo, self.why = signo, why


def _sigaction_struct(t):
    # x86-64: handler, flags, restorer, mask (all 8 bytes);
    # i386 rt_sigaction: handler, flags, restorer (4 bytes each), mask (8).
    return struct.Struct("<QQQQ" if t.is64 else "<IIIQ")


@syscall("rt_sigaction", "sig ptr ptr size")
def sys_rt_sigaction(t, sig, act, oact, size):
    if size != 8 or not 1 <= sig <= NSIG:
        raise KernelError(E.EINVAL)
    fmt = _sigaction_struct(t)
    new = fmt.unpack(t.mm.read(act, fmt.size)) if act else None
    if new and sig in (SIGKILL, SIGSTOP):
        raise KernelError(E.EINVAL)
    if new:
        before_action_change(t)
    if oact:
        t.mm.write(oact, fmt.pack(*t.sigactions.get(sig, (0, 0, 0, 0))[:4]))
    if new:
        handler, flags, restorer, mask = new
        # Linux marks an action installed by a 32-bit call (SA_IA32_ABI): its
        # frames are i386 frames.
        t.sigactions[sig] = (handler, flags, restorer, mask & ~UNBLOCKABLE, not t.is64)
        if handler == SIG_IGN or (handler == SIG_DFL and sig in DEFAULT_IGNORE):
            _discard(t, sig)                    # discarded, as POSIX asks
        after_action_change(t, sig)
    return 0


@syscall("rt_sigprocmask", "how ptr ptr size")
def sys_rt_sigprocmask(t, how, nset, oset, size):
    if size != 8:
        raise KernelError(E.EINVAL)
    new = struct.unpack("<Q", t.mm.read(nset, 8))[0] if nset else None
    if new is not None and how not in (SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK):
        raise KernelError(E.EINVAL)
    if oset:
        t.mm.write(oset, struct.pack("<Q", t.sigmask))
    if new is not None:
        if how == SIG_BLOCK:
            t.sigmask |= new
        elif how == SIG_UNBLOCK:
            t.sigmask &= ~new
        else:
            t.sigmask = new
        t.sigmask &= ~UNBLOCKABLE
        retarget(t)
    return 0


def _discard(t, sig):
    """A signal whose action became ignore leaves every pending set."""
    bit = 1 << (sig - 1)
    proc = t.proc
    for o in proc.threads.values():
        o.own_pending &= ~bit
        o.siginfo.pop(sig, None)
        o.queued.drop(sig)
    proc.shared_siginfo.pop(sig, None)
    proc.shared_queued.drop(sig)
    proc.set_shared(proc.shared_pending & ~bit)


def retarget(t):
    """A mask changed: the group's pending signals may now belong to another
    thread (retarget_shared_pending)."""
    if t.proc.shared_pending and t.proc.cpu_sched is not None:
        t.proc.retarget()


SS_ONSTACK, SS_DISABLE, SS_AUTODISARM, MINSIGSTKSZ = 1, 2, 1 << 31, 2048


@syscall("sigaltstack", "ptr ptr")
def sys_sigaltstack(t, ss, oss):
    fmt = struct.Struct("<QiiQ" if t.is64 else "<IiI")
    if oss:
        sp, flags, size = t.altstack
        vals = (sp, flags, 0, size) if t.is64 else (sp, flags, size)
        t.mm.write(oss, fmt.pack(*vals))
    if ss:
        vals = fmt.unpack(t.mm.read(ss, fmt.size))
        sp, flags, size = (vals[0], vals[1], vals[3]) if t.is64 else vals
        if flags & ~(SS_DISABLE | (1 << 31)):
            raise KernelError(E.EINVAL)
        if not flags & SS_DISABLE and size < 2048:
            raise KernelError(E.ENOMEM)
        t.altstack = (0, SS_DISABLE, 0) if flags & SS_DISABLE else (sp, flags, size)
    return 0


def send_self(t, sig, code=SI_TKILL, to=None, group=False, info=None):
    """A signal the task sent itself (to its own thread, or with SI_USER to
    its process) or, with to, to another thread of its process: pending
    until the way out of the kernel, where deliver_pending acts on it.
    info: the siginfo to queue (sigqueue's), else one made of code."""
    if sig == 0:
        return 0
    if not 1 <= sig <= NSIG:
        raise KernelError(E.EINVAL)
    if ignored(t, sig):
        return 0
    if info is None:
        info = sigframe.siginfo(sig, code, True, pid=t.pid, uid=t.uid)
    rt = sig >= SIGRTMIN
    if group:
        if (not t.proc.shared_pending & (1 << (sig - 1)) or rt) and not t.proc.raise_signal(
                sig, info) and code != SI_USER:
            raise KernelError(E.EAGAIN)     # the queue is full (__send_signal)
        return 0
    target = to if to is not None else t
    if ((not target.own_pending & (1 << (sig - 1)) or rt) and not target.add_pending(sig, info)
            and code != SI_USER):
        raise KernelError(E.EAGAIN)
    if target is not t and t.proc.cpu_sched is not None:
        t.proc.cpu_sched.signal_thread(target)
    return 0


def before_action_change(t):
    """Signals that reached the host before an action changes are judged by
    the old action, as Linux judges them when they are sent."""
    t.host.collect()
    absorb_host_signals(t)


def inherit_signal_state(t):
    """The first program starts with the ignored signals and the mask of
    whoever ran sysgate, as it would natively (nohup's ignored SIGHUP)."""
    from .hostsigcalls import inherited
    ignored, blocked = inherited()
    for sig in ignored:
        t.sigactions[sig] = (SIG_IGN, 0, 0, 0, not t.is64)
    t.sigmask = sum(1 << (s - 1) for s in blocked)
    after_action_change(t, SIGCHLD)


def after_action_change(t, sig):
    """The host reaps the children itself while the guest's SIGCHLD is
    ignored or carries SA_NOCLDWAIT (Linux's autoreap)."""
    if sig == SIGCHLD:
        handler, flags = t.sigactions.get(SIGCHLD, (SIG_DFL, 0))[:2]
        t.host.reap_children(handler == SIG_IGN or bool(flags & SA_NOCLDWAIT))


def has_handler(t, signo):
    handler = t.sigactions.get(signo, (SIG_DFL,))[0]
    return handler not in (SIG_DFL, SIG_IGN) and signo not in (SIGKILL, SIGSTOP)


def deliverable(t):
    """The signal to deliver next (lowest number first), or 0."""
    absorb_host_signals(t)
    ready = t.pending & ~(t.sigmask & ~UNBLOCKABLE)
    if not ready:
        return 0
    if t.debugger is not None:     # gdb stub: gdb sees it first, may drop or change it
        return t.debugger.signal_pick(t, (ready & -ready).bit_length())
    return (ready & -ready).bit_length()


def deliver(t, signo, regs, fpu, info=None, trap=(0, 0, 0), forced=False, oldmask=None):
    """Act on signal signo for a task whose user registers are regs.

    Returns the registers to resume with (a handler's frame set up), or None
    when the signal was ignored. Raises GuestSignal when its action kills.
    forced: a synchronous fault, which a blocked or ignored action cannot
    stop (force_sig_info)."""
    if t.debugger is not None:     # gdb stub: gdb sees it first, may drop or change it
        signo, info = t.debugger.signal_stop(t, signo, regs, info)
        if not signo:
            return None
    bit = 1 << (signo - 1)
    queued = t.take_pending(signo) if t.pending & bit else None
    # siginfo is kept in the x86-64 layout and recast for i386 frames.
    info = info or queued or sigframe.siginfo(signo, SI_KERNEL, True)
    t.proc.notify.publish("signal", signo, info)
    act = t.sigactions.get(signo, (SIG_DFL, 0, 0, 0, False))
    handler = act[0]
    if forced and (t.sigmask & bit or handler == SIG_IGN):
        t.sigmask &= ~bit
        handler = SIG_DFL
    if signo in (SIGKILL, SIGSTOP):
        handler = SIG_DFL
    if handler == SIG_IGN:
        return None
    if handler == SIG_DFL:
        if signo in DEFAULT_IGNORE:
            return None
        if signo in DEFAULT_STOP:
            t.host.stop_self(signo)    # returns once the host continued us
            # A tracer that attached meanwhile continued us: its note is taken
            # (and its trap made) before user code runs on untraced.
            t.host.collect()
            absorb_host_signals(t)
            return None
        raise GuestSignal(signo)
    ia32 = act[4]
    if oldmask is None:
        oldmask = t.sigmask
    try:
        if ia32:
            new = sigframe.setup_frame_32(t, regs, fpu, signo, act[:4],
                                          sigframe.siginfo_32(info), oldmask,
                                          t.vdso_symbols, trap)
        else:
            new = sigframe.setup_rt_frame_64(t, regs, fpu, signo, act[:4], info, oldmask, trap)
    except KernelError:
        if signo == SIGSEGV:
            raise GuestSignal(SIGSEGV, "could not write the signal frame") from None
        # force_sigsegv: a SIGSEGV instead, to its own handler if it has one
        # (on the alternate stack a bad stack pointer calls for).
        return deliver(t, SIGSEGV, regs, fpu, sigframe.siginfo(SIGSEGV, SI_KERNEL, True),
                       forced=True)
    flags = act[1]
    t.sigmask |= act[3] | (0 if flags & sigframe.SA_NODEFER else bit)
    t.sigmask &= ~UNBLOCKABLE
    if flags & sigframe.SA_RESETHAND:
        # Only the handler goes back to SIG_DFL; flags and mask stay, as
        # get_signal leaves them (sigaction then still shows SA_SIGINFO).
        t.sigactions[signo] = (SIG_DFL,) + tuple(act[1:])
        after_action_change(t, signo)
    return new


@syscall("rt_sigreturn")
def sys_rt_sigreturn(t):
    sp = t.thread.user_sp()
    if t.is64:
        return _sigreturn(t, lambda: sigframe.restore_rt_frame_64(t, sp))
    return _sigreturn(t, lambda: sigframe.restore_frame_32(t, sp, rt=True))


@syscall("sigreturn")
def sys_sigreturn(t):
    sp = t.thread.user_sp()
    return _sigreturn(t, lambda: sigframe.restore_frame_32(t, sp, rt=False))


FPU_INIT = {"fpcw": 0x37F, "fpsw": 0, "mxcsr": 0x1F80, "xmm": [0] * 16}


def _sigreturn(t, read_frame):
    """Registers, mask and FPU state from the frame; a frame that cannot be
    read, or whose FPU state would fault, is SIGSEGV (badframe), and one
    whose CS or SS IRET refuses is that fault's signal, delivered on the
    restored registers as fixup_bad_iret makes Linux deliver it."""
    cur = t.thread.read_regs()
    try:
        regs, mask, fp_addr, alt = read_frame()
    except KernelError:
        regs = t.regs_at_exit(dict(cur))      # the registers as the call returns 0
        regs["rax"] = 0
        return _force_segv(t, regs, (0, 0))
    t.sigmask = mask & ~UNBLOCKABLE
    regs["eflags"] = (cur["eflags"] & ~sigframe.FIX_EFLAGS) | (regs["eflags"] & sigframe.FIX_EFLAGS)
    if not t.is64:
        sigframe.reload_segments_32(t, regs, cur)
    try:
        fpu = sigframe.restore_fpu(t, fp_addr, t.is64)
    except KernelError:
        return _force_segv(t, regs, (0, 0))
    t.thread.write_fpu(fpu if fpu is not None else FPU_INIT)     # none saved: init state
    if alt is not None:
        _restore_altstack(t, alt, regs["rsp"])
    fault = sigframe.iret_fault(t, regs)
    if fault:
        signo, trapno, err = fault
        return _force_segv(t, regs, (trapno, err), signo)
    if not t.is64:
        sigframe.after_iret_32(regs)
    t.thread.set_frame(regs)
    return _as_return(t, regs)


def _restore_altstack(t, alt, sp):
    """restore_altstack: the rt frame's uc_stack becomes the alternate
    stack, as sigaltstack would take it, its refusals ignored (on the
    current one: EPERM; a bad mode: EINVAL; too small: ENOMEM)."""
    ss_sp, flags, size = alt
    cur_sp, cur_flags, cur_size = t.altstack
    if not cur_flags & SS_DISABLE and cur_sp <= sp & (2**64 - 1) < cur_sp + cur_size:
        return
    mode = flags & ~SS_AUTODISARM
    if mode == SS_DISABLE:
        t.altstack = (0, SS_DISABLE, 0)
    elif mode in (0, SS_ONSTACK) and size >= MINSIGSTKSZ:
        t.altstack = (ss_sp, flags & SS_AUTODISARM, size)


def _force_segv(t, regs, trap, signo=SIGSEGV):
    """force_sig(signo) on regs: a handler's frame, or the task dies."""
    info = sigframe.siginfo(signo, SI_KERNEL, True, addr=0)
    new = deliver(t, signo, regs, t.thread.read_fpu(), info=info, trap=trap + (0,),
                  forced=True)
    t.thread.set_frame(new)
    return _as_return(t, new)


def _as_return(t, regs):
    # The restored RAX, as the signed value the call "returns".
    ax = regs["rax"] & (2**64 - 1 if t.is64 else 0xFFFFFFFF)
    return ax - (1 << (64 if t.is64 else 32)) if ax >> (63 if t.is64 else 31) else ax


@syscall("restart_syscall")
def sys_restart_syscall(t):
    block, t.restart_block = t.restart_block, None
    if block is None:
        raise KernelError(E.EINTR)
    return block(t)
