"""A confined guest's SysV IPC: an IPC namespace of the host kernel's,
made for sysgate's process (and so for every guest process after it)
before the first program starts, so that the guest neither sees nor
touches the host's queues, semaphores and segments, and the host's
processes not the guest's.

That takes CAP_SYS_ADMIN. Without it, a user namespace would give it, but
one that maps only our own ids shows every other owner's file as 65534, a
change to everything the guest sees: sysgate makes one only where --net
none has already put the guest in such a namespace (which costs nothing
more; its capabilities, which the user never had, are dropped again).
Elsewhere the guest gets ENOSYS from every IPC call (as from a kernel
without CONFIG_SYSVIPC), never the host's objects."""
import ctypes
import os

from ..hostlibc import libc
from ..netns import _drop_caps
from ..tables.unistd import NR_X86_64
from . import set_available

CLONE_NEWIPC, CLONE_NEWUSER = 0x08000000, 0x10000000


def _unshare(flags):
    if libc.syscall(ctypes.c_long(NR_X86_64["unshare"]), ctypes.c_long(flags)) < 0:
        raise OSError(ctypes.get_errno(), "unshare")


def _in_user_namespace():
    uid, gid = os.geteuid(), os.getegid()
    _unshare(CLONE_NEWUSER | CLONE_NEWIPC)
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                       ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)
    _drop_caps(None)


def setup(confined, in_own_userns=False):
    """Give a confined guest an IPC namespace of its own; True if it has
    one (or needs none), False if its IPC calls are refused.
    in_own_userns: sysgate already runs in a user namespace it made (--net
    none without root)."""
    available = True
    if confined:
        try:
            _unshare(CLONE_NEWIPC)
        except OSError:
            try:
                if not in_own_userns:
                    raise
                _in_user_namespace()
            except OSError:
                available = False
    set_available(available)
    return available
