"""Process identity and the ways a process ends."""
import os
import struct

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


def _groups(t, size, ptr, fmt):
    groups = os.getgroups()
    if size < 0 or size > NGROUPS_MAX:
        raise KernelError(E.EINVAL)
    if size == 0:
        return len(groups)
    if size < len(groups):
        raise KernelError(E.EINVAL)
    t.mm.write(ptr, b"".join(struct.pack(fmt, _id16(g) if fmt == "<H" else g)
                             for g in groups))
    return len(groups)


def _id16(i):
    """An id as i386's 16-bit calls give it: 65534 when it does not fit."""
    return i if i < 0x10000 else 65534


@syscall("getgroups", "int ptr")
def sys_getgroups(t, size, ptr):
    return _groups(t, size, ptr, "<I")


@syscall("getgroups32", "int ptr")
def sys_getgroups32(t, size, ptr):
    return _groups(t, size, ptr, "<I")


@syscall("getgroups16", "int ptr")
def sys_getgroups16(t, size, ptr):
    return _groups(t, size, ptr, "<H")


def _res(t, ids, ptrs, fmt):
    for i, p in zip(ids, ptrs):
        t.mm.write(p, struct.pack(fmt, _id16(i) if fmt == "<H" else i))
    return 0


@syscall("getresuid", "ptr ptr ptr")
def sys_getresuid(t, r, e, s):
    return _res(t, os.getresuid(), (r, e, s), "<I")


@syscall("getresuid32", "ptr ptr ptr")
def sys_getresuid32(t, r, e, s):
    return _res(t, os.getresuid(), (r, e, s), "<I")


@syscall("getresuid16", "ptr ptr ptr")
def sys_getresuid16(t, r, e, s):
    return _res(t, os.getresuid(), (r, e, s), "<H")


@syscall("getresgid", "ptr ptr ptr")
def sys_getresgid(t, r, e, s):
    return _res(t, os.getresgid(), (r, e, s), "<I")


@syscall("getresgid32", "ptr ptr ptr")
def sys_getresgid32(t, r, e, s):
    return _res(t, os.getresgid(), (r, e, s), "<I")


@syscall("getresgid16", "ptr ptr ptr")
def sys_getresgid16(t, r, e, s):
    return _res(t, os.getresgid(), (r, e, s), "<H")


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
        t.mm.write(rseq + 4, struct.pack("<i", -1))     # RSEQ_CPU_ID_UNINITIALIZED
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
    from .info import current_cpu
    t.mm.write(rseq, struct.pack("<II", current_cpu(t), current_cpu(t)))
    if length >= ORIG_RSEQ_SIZE:
        t.mm.write(rseq + 20, struct.pack("<II", 0, 0))
    t.rseq = (rseq, length, sig)
    return 0

