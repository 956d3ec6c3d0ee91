"""The i386 originals of the rt_ signal calls: sigaction, signal and
sigprocmask, with their 32-bit masks and the old sigaction layout."""
import struct

from .errors import KernelError, E
from .registry import syscall
from .sigframe import SA_NODEFER, SA_RESETHAND
from .signal import (NSIG, SIG_BLOCK, SIG_SETMASK, SIG_UNBLOCK, UNBLOCKABLE,
                     after_action_change, before_action_change)
from .sigpending import SIGKILL, SIGSTOP

OLD_SIGACTION = struct.Struct("<IIII")     # handler, mask, flags, restorer


@syscall("sigaction", "sig ptr ptr")
def sys_sigaction(t, sig, act, oact):
    if not 1 <= sig <= NSIG:
        raise KernelError(E.EINVAL)
    new = OLD_SIGACTION.unpack(t.mm.read(act, 16)) if act else None
    if new and sig in (SIGKILL, SIGSTOP):
        raise KernelError(E.EINVAL)
    if new:
        before_action_change(t)
    if oact:
        h, f, r, m = t.sigactions.get(sig, (0, 0, 0, 0))[:4]
        t.mm.write(oact, OLD_SIGACTION.pack(h, m & 0xFFFFFFFF, f, r))
    if new:
        h, m, f, r = new
        t.sigactions[sig] = (h, f, r, m & ~UNBLOCKABLE, True)
        after_action_change(t, sig)
    return 0


@syscall("signal", "sig ulong")
def sys_signal(t, sig, handler):
    if not 1 <= sig <= NSIG or sig in (SIGKILL, SIGSTOP):
        raise KernelError(E.EINVAL)
    old = t.sigactions.get(sig, (0,))[0]
    before_action_change(t)
    # signal() has System V semantics in the kernel: one-shot, not blocked.
    t.sigactions[sig] = (handler, SA_RESETHAND | SA_NODEFER, 0, 0, True)
    after_action_change(t, sig)
    return old


@syscall("sigprocmask", "how ptr ptr")
def sys_sigprocmask(t, how, nset, oset):
    new = struct.unpack("<I", t.mm.read(nset, 4))[0] if nset else None
    if oset:
        t.mm.write(oset, struct.pack("<I", t.sigmask & 0xFFFFFFFF))
    if new is not None:
        if how == SIG_BLOCK:
            t.sigmask |= new
        elif how == SIG_UNBLOCK:
            t.sigmask &= ~new
        elif how == SIG_SETMASK:
            t.sigmask = (t.sigmask & ~0xFFFFFFFF) | new
        else:
            raise KernelError(E.EINVAL)
        t.sigmask &= ~UNBLOCKABLE
    return 0
