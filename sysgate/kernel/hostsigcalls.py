"""The host's signal calls sysgate makes for itself, below kernel.hostsig:
a raw rt_sigtimedwait (the siginfo's bytes kept), tgkill, a host thread's
own pending set, the poke's empty handler, what this process inherited,
and dying by a signal as the guest did."""
import ctypes
import os
import signal
import struct

from ..abi.consts import SA_RESTORER
from .hostlibc import libc
from .tables.unistd import NR_X86_64

# The host's (x86-64) numbers: its struct kernel_sigaction is 4 longs.
NR_RT_SIGACTION, NR_TGKILL, NR_RT_SIGTIMEDWAIT = (
    NR_X86_64[n] for n in ("rt_sigaction", "tgkill", "rt_sigtimedwait"))
# glibc's own SIGCANCEL, which sysgate's process never uses (see
# kernel.hostsig): the signal that ends a host thread's blocking call.
POKE = 32


def own_pending(tid):
    """The signals pending for host thread tid alone (its SigPnd), as a
    mask; tid may be "thread-self"."""
    try:
        with open(f"/proc/self/task/{tid}/status" if tid != "thread-self"
                  else "/proc/thread-self/status", "rb") as f:
            for line in f:
                if line.startswith(b"SigPnd:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError):
        pass
    return 0


class HostInfo:
    """A host siginfo: the fields the guest's is made of, and its bytes (a
    sigqueue's value, a timer's id: the guest's siginfo as it was sent)."""
    __slots__ = ("si_signo", "si_code", "si_pid", "si_uid", "si_status", "raw")

    def __init__(self, raw):
        self.si_signo, _, self.si_code, _, self.si_pid, self.si_uid, self.si_status = \
            struct.unpack_from("<iiiiiIi", raw)
        self.raw = raw


def take_now(mask):
    """rt_sigtimedwait(mask, zero timeout) on the calling host thread, raw:
    Python's signal.sigtimedwait reports a tgkill's SI_TKILL as 0."""
    buf = ctypes.create_string_buffer(128)
    m = ctypes.c_uint64(mask)
    zero = (ctypes.c_long * 2)(0, 0)
    if libc.syscall(NR_RT_SIGTIMEDWAIT, ctypes.byref(m), buf, zero, 8) <= 0:
        return None
    return HostInfo(buf.raw)


def tgkill(tgid, tid, sig):
    """The host's tgkill (a guest's signal to one thread of another guest
    process: guest tids are host tids): 0 or a negative errno."""
    if libc.syscall(NR_TGKILL, tgid, tid, sig) == 0:
        return 0
    return -ctypes.get_errno()


def install_poke():
    """Give POKE a handler that does nothing (libc's getpid, which ignores
    its argument), installed without SA_RESTART so a blocked call fails with
    EINTR. The restorer is libc's, read from an action libc installed
    (Python's SIGINT or SIGPIPE). False when none is found."""
    old = (ctypes.c_ulong * 4)()
    for sig in (signal.SIGINT, signal.SIGPIPE):
        if libc.syscall(NR_RT_SIGACTION, sig, None, old, 8) == 0 and old[1] & SA_RESTORER:
            break
    else:
        return False
    handler = ctypes.cast(libc.getpid, ctypes.c_void_p).value
    act = (ctypes.c_ulong * 4)(handler, SA_RESTORER, old[2], 0)
    return libc.syscall(NR_RT_SIGACTION, POKE, act, None, 8) == 0


def inherited():
    """(ignored, blocked): the signals this process was started with
    ignored and blocked, which a program run natively would inherit. SIGPIPE
    and SIGXFSZ are left out of ignored: Python ignores them itself at start,
    so what the caller gave is lost (and default is by far the usual)."""
    ignored = set()
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("SigIgn:"):
                    bits = int(line.split()[1], 16)
                    ignored = {s for s in range(1, 65) if bits >> (s - 1) & 1}
    except (OSError, ValueError):
        pass
    ignored -= {signal.SIGPIPE, signal.SIGXFSZ, signal.SIGKILL, signal.SIGSTOP}
    blocked = {int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])}
    return ignored, blocked - {signal.SIGKILL, signal.SIGSTOP}


def die_by_signal(signo):
    """End this host process as the guest ended: killed by signo (no core
    file: a core of sysgate is not the guest's)."""
    try:
        libc.prctl(4, 0, 0, 0, 0)          # PR_SET_DUMPABLE 0
    except (OSError, AttributeError):
        pass
    if signo not in (signal.SIGKILL, signal.SIGSTOP):   # their action cannot change
        signal.signal(signo, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signo})
    os.kill(os.getpid(), signo)
    os._exit(128 + signo)      # a signal whose default action does not kill
