"""Process identity and the ways a process ends."""
import os

from .errors import KernelError, E
from .registry import syscall
from .task import ExitGroup


@syscall("exit", "int")
def sys_exit(t, code):
    # One thread per process for now: the last thread's exit ends the group.
    raise ExitGroup(code & 0xFF)


@syscall("exit_group", "int")
def sys_exit_group(t, code):
    raise ExitGroup(code & 0xFF)


@syscall("getpid")
def sys_getpid(t):
    return t.pid


@syscall("gettid")
def sys_gettid(t):
    return t.tid


@syscall("getppid")
def sys_getppid(t):
    return os.getppid()


@syscall("getpgrp")
def sys_getpgrp(t):
    return os.getpgrp()


@syscall("getpgid", "pid")
def sys_getpgid(t, pid):
    if pid not in (0, t.pid):
        raise KernelError(E.ESRCH)
    return os.getpgid(0)


@syscall("getsid", "pid")
def sys_getsid(t, pid):
    if pid not in (0, t.pid):
        raise KernelError(E.ESRCH)
    return os.getsid(0)


# The guest runs with the host identity; the 32 names are i386's 32-bit-id calls.
@syscall("getuid")
def sys_getuid(t):
    return os.getuid()


@syscall("getuid32")
def sys_getuid32(t):
    return os.getuid()


@syscall("geteuid")
def sys_geteuid(t):
    return os.geteuid()


@syscall("geteuid32")
def sys_geteuid32(t):
    return os.geteuid()


@syscall("getgid")
def sys_getgid(t):
    return os.getgid()


@syscall("getgid32")
def sys_getgid32(t):
    return os.getgid()


@syscall("getegid")
def sys_getegid(t):
    return os.getegid()


@syscall("getegid32")
def sys_getegid32(t):
    return os.getegid()


@syscall("set_tid_address", "ptr")
def sys_set_tid_address(t, tidptr):
    t.clear_child_tid = tidptr
    return t.tid


@syscall("set_robust_list", "ptr size")
def sys_set_robust_list(t, head, size):
    if size != (24 if t.is64 else 12):
        raise KernelError(E.EINVAL)
    t.robust_list = (head, size)
    return 0


@syscall("rseq", "ptr uint flags uint", status="unimplemented",
         note="restartable sequences: -ENOSYS; glibc carries on without them")
def sys_rseq(t, rseq, length, flags, sig):
    raise KernelError(E.ENOSYS)
