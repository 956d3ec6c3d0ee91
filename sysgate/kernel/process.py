"""Process identity and the ways a process ends."""
import os

from ..abi.structs import layout, write_array, write_field, write_struct
from .errors import KernelError, E
from .registry import syscall
from .task import ExitGroup


@syscall("exit", "int")
def sys_exit(t, code):
    # Only this thread ends; the last thread's exit ends the group.
    t.exit_thread = True
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


# Guest pids are host pids: process groups and sessions are the host's, so
# a shell's job control sees what the terminal sees. (The host only lets a
# process move itself and its own children.)
@syscall("getpgid", "pid")
def sys_getpgid(t, pid):
    if pid < 0:
        raise KernelError(E.ESRCH)
    return os.getpgid(pid)


@syscall("getsid", "pid")
def sys_getsid(t, pid):
    if pid < 0:
        raise KernelError(E.ESRCH)
    return os.getsid(pid)


@syscall("setpgid", "pid pid")
def sys_setpgid(t, pid, pgid):
    if pgid < 0:
        raise KernelError(E.EINVAL)
    if pid < 0:
        raise KernelError(E.ESRCH)
    os.setpgid(pid, pgid)
    return 0


@syscall("setsid")
def sys_setsid(t):
    return os.setsid() or os.getsid(0)


# --- supplementary groups and saved ids --------------------------------------
NGROUPS_MAX = 65536


def _ids(ids, id16):
    """Ids as the call gives them: i386's 16-bit calls, 65534 for one that
    does not fit (high2lowuid)."""
    return [i if not id16 or i < 0x10000 else 65534 for i in ids]


# The 32 names are i386's calls with 32-bit ids; its old calls give 16-bit
# ones (kernel/uid16.c).
_ID16 = "16-bit ids"


@syscall("getgroups i386:getgroups32", "int ptr")
@syscall("i386:getgroups", "int ptr", id16=True, note=_ID16)
def sys_getgroups(t, size, ptr, id16=False):
    groups = os.getgroups()
    if size < 0 or size > NGROUPS_MAX:
        raise KernelError(E.EINVAL)
    if size == 0:
        return len(groups)
    if size < len(groups):
        raise KernelError(E.EINVAL)
    write_array(t, ptr, "u16" if id16 else "u32", _ids(groups, id16))
    return len(groups)


@syscall("getresuid i386:getresuid32", "ptr ptr ptr", get=os.getresuid)
@syscall("i386:getresuid", "ptr ptr ptr", get=os.getresuid, id16=True, note=_ID16)
@syscall("getresgid i386:getresgid32", "ptr ptr ptr", get=os.getresgid)
@syscall("i386:getresgid", "ptr ptr ptr", get=os.getresgid, id16=True, note=_ID16)
def sys_getresuid(t, r, e, s, get, id16=False):
    for i, p in zip(_ids(get(), id16), (r, e, s)):
        write_struct(t, p, "u16" if id16 else "u32", i)
    return 0


# The guest runs with the host identity.
@syscall("getuid i386:getuid32", get=os.getuid)
@syscall("geteuid i386:geteuid32", get=os.geteuid)
@syscall("getgid i386:getgid32", get=os.getgid)
@syscall("getegid i386:getegid32", get=os.getegid)
def sys_getuid(t, get):
    return get()


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


@syscall("get_robust_list", "pid ptr ptr")
def sys_get_robust_list(t, pid, head_ptr, len_ptr):
    target = t if pid == 0 else t.proc.threads.get(pid)
    if target is None:
        raise KernelError(E.ESRCH)
    head, size = target.robust_list
    t.write_word(head_ptr, head)
    t.write_word(len_ptr, size or (24 if t.is64 else 12))
    return 0


RSEQ_FLAG_UNREGISTER = 1
ORIG_RSEQ_SIZE = 32
CPU = 0     # the emulated machine runs its one task on CPU 0


@syscall("rseq", "ptr uint flags uint")
def sys_rseq(t, rseq, length, flags, sig):
    """Restartable sequences: registration and the cpu_id fields, which a
    single-CPU machine keeps at 0 forever; critical sections are never
    preempted here, so there is nothing to abort."""
    if flags & RSEQ_FLAG_UNREGISTER:
        if flags & ~RSEQ_FLAG_UNREGISTER:
            raise KernelError(E.EINVAL)
        if t.rseq is None or t.rseq[0] != rseq:
            raise KernelError(E.EINVAL)
        if t.rseq[1:] != (length, sig):
            raise KernelError(E.EPERM)
        write_field(t, rseq, "rseq", "cpu_id", "i", -1)     # RSEQ_CPU_ID_UNINITIALIZED
        t.rseq = None
        return 0
    if flags:
        raise KernelError(E.EINVAL)
    if t.rseq is not None:
        if t.rseq != (rseq, length, sig):
            raise KernelError(E.EINVAL)
        raise KernelError(E.EBUSY)
    if length < ORIG_RSEQ_SIZE or rseq & 31:
        raise KernelError(E.EINVAL)
    # cpu_id_start, cpu_id; then node_id and mm_cid after rseq_cs and flags.
    from .cpunum import cpu_of
    write_array(t, rseq, "u32", (cpu_of(t), cpu_of(t)))
    if length >= ORIG_RSEQ_SIZE:
        write_array(t, rseq + layout(t, "rseq").offset["node_id"], "u32", (0, 0))
    t.rseq = (rseq, length, sig)
    return 0

