"""A confined guest's SysV IPC: an IPC namespace of the host kernel's,
made for sysgate's process (and so for every guest process after it)
before the first program starts, so that the guest neither sees nor
touches the host's queues, semaphores and segments, and the host's
processes not the guest's. Without root, a user namespace first (mapping
only our own ids, so the guest's ids stay what they were), whose full
capability set, which the user never had, is dropped again. Where no
namespace can be made, the guest gets ENOSYS from every IPC call."""
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


def setup(confined):
    """Give a confined guest an IPC namespace of its own; True if it has
    one (or needs none), False if its IPC calls are refused."""
    if not confined:
        set_available(True)
        return True
    try:
        _unshare(CLONE_NEWIPC)
    except OSError:
        try:
            if os.geteuid() == 0:
                raise               # root without CAP_SYS_ADMIN: a user namespace would cut its powers
            _in_user_namespace()
        except OSError:
            set_available(False)
            return False
    set_available(True)
    return True
