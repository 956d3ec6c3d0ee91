"""Signal state: actions, the blocked mask, the alternate stack, and signals a
task sends itself. Delivery to a guest handler is not modelled yet: a signal
whose action is a handler ends the guest with a clear message."""
import struct

from .errors import KernelError, E
from .registry import syscall

NSIG = 64
SIGKILL, SIGSTOP = 9, 19
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
        t.mm.write(oact, fmt.pack(*t.sigactions.get(sig, (0, 0, 0, 0))))
    if new:
        handler, flags, restorer, mask = new
        t.sigactions[sig] = (handler, flags, restorer, mask & ~UNBLOCKABLE)
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


def send_self(t, sig):
    """Act on a signal the task sent itself."""
    if sig == 0:
        return 0
    if not 1 <= sig <= NSIG:
        raise KernelError(E.EINVAL)
    handler = t.sigactions.get(sig, (SIG_DFL,))[0]
    if sig in (SIGKILL, SIGSTOP):
        handler = SIG_DFL
    if handler == SIG_IGN or (handler == SIG_DFL and sig in DEFAULT_IGNORE):
        return 0
    if t.sigmask & (1 << (sig - 1)) and sig not in (SIGKILL, SIGSTOP):
        t.pending |= 1 << (sig - 1)
        return 0
    if handler == SIG_DFL:
        raise GuestSignal(sig)
    raise GuestSignal(sig, "signal handlers are not modelled yet")


def _check_target(t, pid):
    if pid not in (0, -1, t.pid, -t.pid):
        raise KernelError(E.ESRCH if pid > 0 else E.EPERM)


@syscall("kill", "pid sig")
def sys_kill(t, pid, sig):
    _check_target(t, pid)
    return send_self(t, sig)


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
