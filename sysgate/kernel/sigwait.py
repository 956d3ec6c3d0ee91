"""Waiting for signals: pause, the sigsuspend calls, sigtimedwait, and the
pending set (rt_sigpending), as kernel/signal.c."""
import struct

from . import sched, sigframe
from .errors import KernelError, E
from .registry import syscall
from .signal import SI_KERNEL, UNBLOCKABLE, retarget
from .sigpending import absorb_host_signals


@syscall("rt_sigpending", "ptr size")
def sys_rt_sigpending(t, buf, size):
    if size > 8:
        raise KernelError(E.EINVAL)
    absorb_host_signals(t)
    t.mm.write(buf, struct.pack("<Q", t.pending & t.sigmask)[:size])
    return 0


@syscall("pause")
def sys_pause(t):
    sched.sleep_until(t, None, sched.ERESTARTNOHAND)


def _sigsuspend(t, mask):
    t.saved_sigmask = t.sigmask
    t.sigmask = mask & ~UNBLOCKABLE
    retarget(t)
    sched.sleep_until(t, None, sched.ERESTARTNOHAND)


@syscall("rt_sigsuspend", "ptr size")
def sys_rt_sigsuspend(t, mask, size):
    if size != 8:
        raise KernelError(E.EINVAL)
    _sigsuspend(t, struct.unpack("<Q", t.mm.read(mask, 8))[0])


@syscall("sigsuspend", "int int ulong")
def sys_sigsuspend(t, _unused1, _unused2, mask):
    _sigsuspend(t, mask & 0xFFFFFFFF)


@syscall("rt_sigtimedwait", "ptr ptr ptr size", wide=False)
@syscall("rt_sigtimedwait_time64", "ptr ptr ptr size", wide=True)
def sys_rt_sigtimedwait(t, set_ptr, info_ptr, ts_ptr, size, wide):
    from .time import get_timespec
    if size != 8:
        raise KernelError(E.EINVAL)
    wanted = struct.unpack("<Q", t.mm.read(set_ptr, 8))[0] & ~UNBLOCKABLE
    deadline = sched.now_ns() + get_timespec(t, ts_ptr, wide) if ts_ptr else None
    saved = t.sigmask
    # The awaited signals count as unblocked only for the wait's purposes.
    while True:
        absorb_host_signals(t)
        ready = t.pending & wanted
        if ready:
            signo = (ready & -ready).bit_length()
            info = t.take_pending(signo) or sigframe.siginfo(signo, SI_KERNEL, True)
            if info_ptr:
                t.mm.write(info_ptr, info if t.is64 else sigframe.siginfo_32(info))
            return signo
        if deadline is not None and sched.now_ns() >= deadline:
            raise KernelError(E.EAGAIN)
        try:
            t.sigmask = saved & ~wanted
            retarget(t)
            sched.sleep_until(t, deadline, E.EINTR)
        except KernelError as e:
            if not t.pending & wanted:
                raise KernelError(e.errno) from None
        finally:
            t.sigmask = saved
