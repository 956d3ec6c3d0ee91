"""prctl: the options programs use.

Options about the host process as a whole that mean the same for the guest
(its parent-death signal, dumpable, no_new_privs, child subreaper, keepcaps,
securebits, the capability bounding set, timer slack) are the host's own, asked of it;
options about the guest's own view (its name, its clear_child_tid address,
its auxv) are the kernel model's. What would reach sysgate itself (PR_SET_MM
rewriting the memory map's bounds) or install a filter sysgate cannot
honour (seccomp) is refused as on a kernel without that feature: EINVAL.
"""
import ctypes

from .errors import KernelError, E
from .hostlibc import libc
from .mm import PROT_READ
from .registry import syscall

PR_SET_PDEATHSIG, PR_GET_PDEATHSIG = 1, 2
PR_GET_DUMPABLE, PR_SET_DUMPABLE = 3, 4
PR_GET_KEEPCAPS, PR_SET_KEEPCAPS = 7, 8
PR_SET_NAME, PR_GET_NAME = 15, 16
PR_GET_SECUREBITS, PR_SET_SECUREBITS = 27, 28
PR_GET_SECCOMP, PR_SET_SECCOMP = 21, 22
PR_CAPBSREAD, PR_CAPBSDROP = 23, 24
PR_GET_TIMERSLACK, PR_SET_TIMERSLACK = 30, 29
PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER = 36, 37
PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS = 38, 39
PR_GET_TID_ADDRESS = 40
PR_SET_THP_DISABLE, PR_GET_THP_DISABLE = 41, 42
PR_CAP_AMBIENT = 47
PR_GET_AUXV = 0x41555856
TASK_COMM_LEN = 16

# Asked of the host as they are: (option, whether arg2 is an int* the
# answer is written to).
_HOST = {PR_SET_PDEATHSIG: False, PR_GET_DUMPABLE: False, PR_SET_DUMPABLE: False,
         PR_GET_KEEPCAPS: False, PR_SET_KEEPCAPS: False, PR_CAPBSREAD: False,
         PR_CAPBSDROP: False, PR_GET_TIMERSLACK: False, PR_SET_TIMERSLACK: False,
         PR_SET_CHILD_SUBREAPER: False, PR_SET_NO_NEW_PRIVS: False,
         PR_GET_NO_NEW_PRIVS: False, PR_CAP_AMBIENT: False,
         PR_GET_SECUREBITS: False, PR_SET_SECUREBITS: False,
         PR_GET_PDEATHSIG: True, PR_GET_CHILD_SUBREAPER: True}


def _host(option, a2, a3, a4, a5, out_ptr):
    c = ctypes.c_int(0)
    arg2 = ctypes.byref(c) if out_ptr else ctypes.c_ulong(a2)
    r = libc.prctl(ctypes.c_int(option), arg2, ctypes.c_ulong(a3), ctypes.c_ulong(a4),
                   ctypes.c_ulong(a5))
    if r < 0:
        raise KernelError(ctypes.get_errno())
    return r, c.value


@syscall("prctl", "int ulong ulong ulong ulong", status="partial",
         note="the options programs use; seccomp, PR_SET_MM and the rest EINVAL")
def sys_prctl(t, option, a2, a3, a4, a5):
    if option in _HOST:
        out = _HOST[option]
        if out:
            t.mm.write(a2, b"\0\0\0\0")          # EFAULT before the host is asked
        r, v = _host(option, a2, a3, a4, a5, out)
        if out:
            t.mm.write(a2, v.to_bytes(4, "little", signed=True))
        return r
    if option == PR_SET_NAME:
        t.comm = _name_from_user(t, a2)
        return 0
    if option == PR_GET_NAME:
        t.mm.write(a2, _comm(t).ljust(TASK_COMM_LEN, b"\0"))
        return 0
    if option == PR_GET_SECCOMP:
        return 0
    if option == PR_GET_TID_ADDRESS:
        t.write_word(a2, t.clear_child_tid)
        return 0
    if option == PR_SET_THP_DISABLE:
        if a3 or a4 or a5:
            raise KernelError(E.EINVAL)
        t.thp_disable = bool(a2)
        return 0
    if option == PR_GET_THP_DISABLE:
        if a2 or a3 or a4 or a5:
            raise KernelError(E.EINVAL)
        return int(getattr(t, "thp_disable", False))
    if option == PR_GET_AUXV:
        if a4 or a5:
            raise KernelError(E.EINVAL)
        data = t.auxv_bytes
        if a3:
            t.mm.write(a2, data[:a3])
        return len(data)
    raise KernelError(E.EINVAL)


def _name_from_user(t, ptr):
    """At most 15 bytes up to a NUL, as strncpy_from_user reads them:
    EFAULT only if a byte it needed could not be read."""
    n = t.mm.extent(ptr, TASK_COMM_LEN - 1, PROT_READ)
    raw = t.mm.peek(ptr, n) if n else b""
    nul = raw.find(b"\0")
    if nul < 0 and n < TASK_COMM_LEN - 1:
        raise KernelError(E.EFAULT)
    return raw[:nul] if nul >= 0 else raw


def _comm(t):
    """The task's name: what PR_SET_NAME set, else the program's file name
    (the first 15 bytes, as exec sets it)."""
    name = getattr(t, "comm", None)
    if name is None:
        exe = t.exe_path.encode() if isinstance(t.exe_path, str) else t.exe_path
        name = exe.rsplit(b"/", 1)[-1]
    if isinstance(name, str):
        name = name.encode()
    return name[:TASK_COMM_LEN - 1]
