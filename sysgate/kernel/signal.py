"""Signals: actions, the blocked mask, the alternate stack, signals a task
sends itself, and delivery on the way back to user mode (frames in
sigframe.py), as kernel/signal.c and arch/x86/kernel/signal.c."""
import struct

from . import sigframe
from .errors import KernelError, E
from .registry import syscall

NSIG = 64
SIGKILL, SIGSEGV, SIGSTOP = 9, 11, 19
SI_USER, SI_KERNEL, SI_TKILL = 0, 0x80, -6
SIG_DFL, SIG_IGN = 0, 1
SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))

NAMES = {1: "Hangup", 2: "Interrupt", 3: "Quit", 4: "Illegal instruction",
         5: "Trace/breakpoint trap", 6: "Aborted", 7: "Bus error",
         8: "Floating point exception", 9: "Killed", 10: "User defined signal 1",
         11: "Segmentation fault", 12: "User defined signal 2", 13: "Broken pipe",
         14: "Alarm clock", 15: "Terminated", 16: "Stack fault", 24: "CPU time limit exceeded",
         25: "File size limit exceeded", 26: "Virtual timer expired",
         27: "Profiling timer expired", 29: "I/O possible", 30: "Power failure",
         31: "Bad system call"}
# Signals whose default action is to be ignored (or stop/continue, which a
# lone process without a job-control parent treats the same way here).
DEFAULT_IGNORE = {17, 18, 19, 20, 21, 22, 23, 28}


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
    if oact:
        t.mm.write(oact, fmt.pack(*t.sigactions.get(sig, (0, 0, 0, 0))[:4]))
    if new:
        handler, flags, restorer, mask = new
        # Linux marks an action installed by a 32-bit call (SA_IA32_ABI): its
        # frames are i386 frames.
        t.sigactions[sig] = (handler, flags, restorer, mask & ~UNBLOCKABLE, not t.is64)
        if handler == SIG_IGN or (handler == SIG_DFL and sig in DEFAULT_IGNORE):
            t.pending &= ~(1 << (sig - 1))      # discarded, as POSIX asks
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
    return 0


SS_ONSTACK, SS_DISABLE = 1, 2


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


def send_self(t, sig, code=SI_TKILL):
    """A signal the task sent itself: pending until the way out of the
    kernel, where deliver_pending acts on it."""
    if sig == 0:
        return 0
    if not 1 <= sig <= NSIG:
        raise KernelError(E.EINVAL)
    handler = t.sigactions.get(sig, (SIG_DFL,))[0]
    if sig not in (SIGKILL, SIGSTOP) and (
            handler == SIG_IGN or (handler == SIG_DFL and sig in DEFAULT_IGNORE)):
        return 0
    t.pending |= 1 << (sig - 1)
    t.siginfo[sig] = sigframe.siginfo(sig, code, True, pid=t.pid, uid=t.uid)
    return 0


def deliverable(t):
    """The signal to deliver next (lowest number first), or 0."""
    ready = t.pending & ~(t.sigmask & ~UNBLOCKABLE)
    if not ready:
        return 0
    return (ready & -ready).bit_length()


def deliver(t, signo, regs, fpu, info=None, trap=(0, 0, 0), forced=False):
    """Act on signal signo for a task whose user registers are regs.

    Returns the registers to resume with (a handler's frame set up), or None
    when the signal was ignored. Raises GuestSignal when its action kills.
    forced: a synchronous fault, which a blocked or ignored action cannot
    stop (force_sig_info)."""
    bit = 1 << (signo - 1)
    t.pending &= ~bit
    # siginfo is kept in the x86-64 layout and recast for i386 frames.
    info = info or t.siginfo.pop(signo, None) or sigframe.siginfo(signo, SI_KERNEL, True)
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
        raise GuestSignal(signo)
    ia32 = act[4]
    oldmask = t.sigmask
    try:
        if ia32:
            new = sigframe.setup_frame_32(t, regs, fpu, signo, act[:4], _info_32(info), oldmask,
                                          t.vdso_symbols, trap)
        else:
            new = sigframe.setup_rt_frame_64(t, regs, fpu, signo, act[:4], info, oldmask, trap)
    except KernelError:
        raise GuestSignal(SIGSEGV, "could not write the signal frame") from None
    flags = act[1]
    t.sigmask |= act[3] | (0 if flags & sigframe.SA_NODEFER else bit)
    t.sigmask &= ~UNBLOCKABLE
    if flags & sigframe.SA_RESETHAND:
        t.sigactions.pop(signo, None)
    return new


def _info_32(info):
    """Siginfo is kept in the x86-64 layout; an i386 frame gets the union
    moved up by 4 bytes and its first word cut to 32 bits."""
    return (info[:12] + info[16:]).ljust(128, b"\0")


@syscall("rt_sigreturn")
def sys_rt_sigreturn(t):
    sp = t.thread.user_sp()
    if t.is64:
        regs, mask, fpu, _alt = sigframe.restore_rt_frame_64(t, sp)
    else:
        regs, mask, fpu, _alt = sigframe.restore_frame_32(t, sp, rt=True)
    return _sigreturn(t, regs, mask, fpu)


@syscall("sigreturn")
def sys_sigreturn(t):
    regs, mask, fpu, _alt = sigframe.restore_frame_32(t, t.thread.user_sp(), rt=False)
    return _sigreturn(t, regs, mask, fpu)


def _sigreturn(t, regs, mask, fpu):
    cur = t.thread.read_regs()
    regs["eflags"] = (cur["eflags"] & ~sigframe.FIX_EFLAGS) | (regs["eflags"] & sigframe.FIX_EFLAGS)
    t.sigmask = mask & ~UNBLOCKABLE
    if fpu is not None:
        t.thread.write_fpu(fpu)
    t.thread.set_frame(regs)
    return regs["rax"] if t.is64 else regs["rax"] & 0xFFFFFFFF


def _check_target(t, pid):
    if pid not in (0, -1, t.pid, -t.pid):
        raise KernelError(E.ESRCH if pid > 0 else E.EPERM)


@syscall("rt_sigpending", "ptr size")
def sys_rt_sigpending(t, buf, size):
    if size > 8:
        raise KernelError(E.EINVAL)
    t.mm.write(buf, struct.pack("<Q", t.pending & t.sigmask)[:size])
    return 0


@syscall("kill", "pid sig")
def sys_kill(t, pid, sig):
    _check_target(t, pid)
    return send_self(t, sig, SI_USER)


@syscall("tgkill", "pid pid sig")
def sys_tgkill(t, tgid, tid, sig):
    if tgid <= 0 or tid <= 0:
        raise KernelError(E.EINVAL)
    if tgid != t.pid or tid != t.tid:
        raise KernelError(E.ESRCH)
    return send_self(t, sig)


@syscall("tkill", "pid sig")
def sys_tkill(t, tid, sig):
    if tid <= 0:
        raise KernelError(E.EINVAL)
    if tid != t.tid:
        raise KernelError(E.ESRCH)
    return send_self(t, sig)
