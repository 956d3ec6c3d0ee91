"""Scheduling policies: sched_{get,set}scheduler, sched_{get,set}param,
sched_{get,set}attr, sched_get_priority_{max,min}, sched_rr_get_interval.

The guest's processes are host processes, so their policies are the host's,
asked of it (as priority.py does for nice values); only the session's guests
can be named (ESRCH otherwise), and a guest's threads all run on its one
host thread. Real-time and deadline policies would give the guest the host's
CPU without bound: they are refused with EPERM, as Linux refuses a process
without CAP_SYS_NICE, after Linux's own argument checks."""
import ctypes
import struct

from .errors import KernelError, E
from .hostlibc import host_syscall
from .registry import syscall
from .tables.unistd import NR_X86_64

SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE = 0, 1, 2, 3, 5, 6
SCHED_RESET_ON_FORK = 0x40000000
POLICIES = {SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE}
RT = {SCHED_FIFO, SCHED_RR}
MAX_RT_PRIO = 100
SCHED_ATTR_SIZE_VER0, SCHED_ATTR_SIZE_VER1 = 48, 56
SCHED_FLAG_ALL = 0x7F
SCHED_FLAG_KEEP_POLICY = 0x08
PAGE = 4096
# x86-64 host numbers
(SYS_SETPARAM, SYS_GETPARAM, SYS_SETSCHEDULER, SYS_GETSCHEDULER, SYS_RR_GET_INTERVAL,
 SYS_SETATTR, SYS_GETATTR, SYS_PRIORITY_MAX, SYS_PRIORITY_MIN) = (
    NR_X86_64["sched_" + n] for n in ("setparam", "getparam", "setscheduler", "getscheduler",
                                      "rr_get_interval", "setattr", "getattr",
                                      "get_priority_max", "get_priority_min"))


def _valid(policy):
    """Linux's policies, and what the host kernel adds (SCHED_EXT, 7, since 6.12)."""
    if policy in POLICIES:
        return True
    try:
        host_syscall(SYS_PRIORITY_MAX, ctypes.c_int(policy))
    except KernelError:
        return False
    return True


def _host_pid(t, pid):
    """The host process a guest pid names (0: the caller's own)."""
    if pid < 0:
        raise KernelError(E.EINVAL)
    if pid == 0 or pid == t.pid or pid in t.proc.threads:
        return 0
    from .session import guest_processes
    if pid not in guest_processes(t):
        raise KernelError(E.ESRCH)
    return pid


def _check(policy, prio, attr=None):
    """__sched_setscheduler's checks, in its order; EPERM for what needs
    CAP_SYS_NICE over the host."""
    if not _valid(policy):
        raise KernelError(E.EINVAL)
    if not 0 <= prio < MAX_RT_PRIO:
        raise KernelError(E.EINVAL)
    if policy == SCHED_DEADLINE:
        runtime, deadline, period = attr if attr else (0, 0, 0)
        if deadline == 0 or runtime < 1024 or deadline < runtime or \
                (period and period < deadline) or (deadline | period) >> 63:
            raise KernelError(E.EINVAL)
        raise KernelError(E.EPERM)
    if (policy in RT) != (prio != 0):
        raise KernelError(E.EINVAL)
    if policy in RT:
        raise KernelError(E.EPERM)


def _param(t, addr):
    if not addr:
        raise KernelError(E.EINVAL)
    return struct.unpack("<i", t.mm.read(addr, 4))[0]


@syscall("sched_get_priority_max", "int")
def sys_sched_get_priority_max(t, policy):
    return host_syscall(SYS_PRIORITY_MAX, ctypes.c_int(policy))


@syscall("sched_get_priority_min", "int")
def sys_sched_get_priority_min(t, policy):
    return host_syscall(SYS_PRIORITY_MIN, ctypes.c_int(policy))


@syscall("sched_getscheduler", "pid")
def sys_sched_getscheduler(t, pid):
    return host_syscall(SYS_GETSCHEDULER, ctypes.c_int(_host_pid(t, pid)))


@syscall("sched_getparam", "pid ptr")
def sys_sched_getparam(t, pid, param):
    if not param:
        raise KernelError(E.EINVAL)
    hp = _host_pid(t, pid)
    buf = ctypes.c_int(0)
    host_syscall(SYS_GETPARAM, ctypes.c_int(hp), ctypes.byref(buf))
    t.mm.write(param, struct.pack("<i", buf.value))
    return 0


def _current_policy(hp):
    return host_syscall(SYS_GETSCHEDULER, ctypes.c_int(hp)) & ~SCHED_RESET_ON_FORK


@syscall("sched_setscheduler", "pid int ptr")
def sys_sched_setscheduler(t, pid, policy, param):
    if policy < 0:
        raise KernelError(E.EINVAL)
    prio = _param(t, param)
    hp = _host_pid(t, pid)
    _check(policy & ~SCHED_RESET_ON_FORK, prio)
    host_syscall(SYS_SETSCHEDULER, ctypes.c_int(hp), ctypes.c_int(policy),
                 ctypes.byref(ctypes.c_int(prio)))
    return 0


@syscall("sched_setparam", "pid ptr")
def sys_sched_setparam(t, pid, param):
    prio = _param(t, param)
    hp = _host_pid(t, pid)
    _check(_current_policy(hp), prio)       # the policy stays: SETPARAM_POLICY
    host_syscall(SYS_SETPARAM, ctypes.c_int(hp), ctypes.byref(ctypes.c_int(prio)))
    return 0


@syscall("sched_getattr", "pid ptr uint uint")
def sys_sched_getattr(t, pid, attr, size, flags):
    if not attr or pid < 0 or size > PAGE or size < SCHED_ATTR_SIZE_VER0 or flags:
        raise KernelError(E.EINVAL)
    hp = _host_pid(t, pid)
    buf = ctypes.create_string_buffer(SCHED_ATTR_SIZE_VER1)
    host_syscall(SYS_GETATTR, ctypes.c_int(hp), buf, ctypes.c_uint(SCHED_ATTR_SIZE_VER1),
                 ctypes.c_uint(0))
    n = min(size, SCHED_ATTR_SIZE_VER1)
    data = bytearray(buf.raw[:n])
    struct.pack_into("<I", data, 0, n)
    t.mm.write(attr, bytes(data))
    return 0


@syscall("sched_setattr", "pid ptr uint")
def sys_sched_setattr(t, pid, attr, flags):
    if not attr or pid < 0 or flags:
        raise KernelError(E.EINVAL)
    size = struct.unpack("<I", t.mm.read(attr, 4))[0] or SCHED_ATTR_SIZE_VER0
    if size < SCHED_ATTR_SIZE_VER0 or size > PAGE:
        t.mm.write(attr, struct.pack("<I", SCHED_ATTR_SIZE_VER1))
        raise KernelError(E.E2BIG)
    raw = t.mm.read(attr, size)
    if size > SCHED_ATTR_SIZE_VER1 and any(raw[SCHED_ATTR_SIZE_VER1:]):
        t.mm.write(attr, struct.pack("<I", SCHED_ATTR_SIZE_VER1))
        raise KernelError(E.E2BIG)
    raw = raw[:SCHED_ATTR_SIZE_VER1].ljust(SCHED_ATTR_SIZE_VER1, b"\0")
    _, policy, sflags, nice, prio, runtime, deadline, period = struct.unpack_from("<IIQiIQQQ", raw)
    hp = _host_pid(t, pid)
    if sflags & ~SCHED_FLAG_ALL:
        raise KernelError(E.EINVAL)
    if sflags & SCHED_FLAG_KEEP_POLICY:
        policy = _current_policy(hp)
    _check(policy, prio, (runtime, deadline, period))
    buf = ctypes.create_string_buffer(struct.pack("<I", SCHED_ATTR_SIZE_VER1) + raw[4:], SCHED_ATTR_SIZE_VER1)
    host_syscall(SYS_SETATTR, ctypes.c_int(hp), buf, ctypes.c_uint(0))
    return 0


def _rr_interval(t, pid, ts, wide):
    hp = _host_pid(t, pid)
    buf = (ctypes.c_long * 2)()
    host_syscall(SYS_RR_GET_INTERVAL, ctypes.c_int(hp), buf)
    fmt = "<qq" if t.is64 or wide else "<ii"
    t.mm.write(ts, struct.pack(fmt, buf[0], buf[1]))
    return 0


@syscall("sched_rr_get_interval", "pid ptr")
def sys_sched_rr_get_interval(t, pid, ts):
    return _rr_interval(t, pid, ts, False)


@syscall("sched_rr_get_interval_time64", "pid ptr")
def sys_sched_rr_get_interval_time64(t, pid, ts):
    return _rr_interval(t, pid, ts, True)
