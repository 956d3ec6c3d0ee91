"""Scheduling and I/O priorities: getpriority, setpriority, nice, ioprio.

The guest's processes are host processes, so their priorities are the
host's own, asked of it; only the session's guests can be named (a pid,
process group or user outside it is not the guest's to see: ESRCH)."""
import ctypes
import os

from .errors import KernelError, E
from .hostlibc import host_syscall
from .registry import syscall
from .tables.unistd import NR_X86_64

PRIO_PROCESS, PRIO_PGRP, PRIO_USER = 0, 1, 2
SYS_IOPRIO_SET, SYS_IOPRIO_GET = NR_X86_64["ioprio_set"], NR_X86_64["ioprio_get"]
SYS_GETPRIORITY, SYS_SETPRIORITY = NR_X86_64["getpriority"], NR_X86_64["setpriority"]
IOPRIO_WHO_PROCESS, IOPRIO_WHO_PGRP, IOPRIO_WHO_USER = 1, 2, 3


def _targets(t, which, who):
    """The host (which, who) to ask: the guest's own names pass only when
    they name guests of this session."""
    if which == PRIO_PROCESS:
        if who not in (0, t.pid):
            from .session import guest_processes
            if who not in guest_processes(t):
                raise KernelError(E.ESRCH)
    elif which == PRIO_PGRP:
        if who not in (0, os.getpgrp()):
            from .session import guest_processes
            if who not in set(guest_processes(t).values()):
                raise KernelError(E.ESRCH)
    elif which != PRIO_USER:
        raise KernelError(E.EINVAL)
    return which, who


@syscall("getpriority", "int int")
def sys_getpriority(t, which, who):
    which, who = _targets(t, which, who)
    # The system call answers 20 - nice (never negative), unlike libc's.
    r = host_syscall(SYS_GETPRIORITY, ctypes.c_int(which), ctypes.c_int(who))
    return r


@syscall("setpriority", "int int int")
def sys_setpriority(t, which, who, prio):
    which, who = _targets(t, which, who)
    host_syscall(SYS_SETPRIORITY, ctypes.c_int(which), ctypes.c_int(who), ctypes.c_int(prio))
    return 0


@syscall("nice", "int")
def sys_nice(t, inc):
    inc = max(-40, min(40, inc))
    cur = 20 - host_syscall(SYS_GETPRIORITY, ctypes.c_int(PRIO_PROCESS), ctypes.c_int(0))
    new = max(-20, min(19, cur + inc))
    try:
        host_syscall(SYS_SETPRIORITY, ctypes.c_int(PRIO_PROCESS), ctypes.c_int(0),
                     ctypes.c_int(new))
    except KernelError as e:
        # setpriority says EACCES where nice says EPERM (can_nice).
        raise KernelError(E.EPERM if e.errno == E.EACCES else e.errno) from None
    return 0


def _io_target(t, which, who):
    if which == IOPRIO_WHO_PROCESS:
        return _targets(t, PRIO_PROCESS, who)
    if which == IOPRIO_WHO_PGRP:
        return _targets(t, PRIO_PGRP, who)
    if which == IOPRIO_WHO_USER:
        return which, who
    raise KernelError(E.EINVAL)


@syscall("ioprio_get", "int int")
def sys_ioprio_get(t, which, who):
    _io_target(t, which, who)
    return host_syscall(SYS_IOPRIO_GET, ctypes.c_int(which), ctypes.c_int(who))


@syscall("ioprio_set", "int int int")
def sys_ioprio_set(t, which, who, prio):
    _io_target(t, which, who)
    host_syscall(SYS_IOPRIO_SET, ctypes.c_int(which), ctypes.c_int(who), ctypes.c_int(prio))
    return 0


