"""Semaphore sets: semget, semop, semtimedop (and i386's _time64 form),
semctl (ipc/sem.c), each the host's own call, so SEM_UNDO is undone when
the guest process (a host process) exits. A semop that must wait ends on
a guest signal with EINTR, never restarted, as do_semtimedop ends it."""
import ctypes
import struct

from ...abi.structs import read_struct
from ..errors import KernelError, E
from ..registry import syscall
from ..sched import NSEC, now_ns
from . import IPC_64, IPC_INFO, IPC_SET, IPC_STAT
from . import check_available, host, host_blocking, info
from .layout import guest_size, host_buffer, stat_set_or_bare

GETPID, GETVAL, GETALL, GETNCNT, GETZCNT, SETVAL, SETALL = 11, 12, 13, 14, 15, 16, 17
SEM_STAT, SEM_INFO, SEM_STAT_ANY = 18, 19, 20
SEMINFO_SIZE = 40
SEMOPM_FAST = 64            # below it no limit needs asking before the copy
SEMBUF = 6                  # struct sembuf: the same in both ABIs


class _timespec(ctypes.Structure):
    _fields_ = (("sec", ctypes.c_long), ("nsec", ctypes.c_long))


def _semopm():
    return info("sem")[5]


@syscall("semget", "int int int")
def sys_semget(t, key, nsems, flags):
    check_available()
    return host("semget", key, nsems, flags)


_STOPPED = "a wait stopped and continued (SIGSTOP, SIGCONT) goes on instead of failing with EINTR"


@syscall("semop", "int ptr uint", note=_STOPPED)
def sys_semop(t, semid, sops, nsops):
    return do_semtimedop(t, semid, sops, nsops, 0)


@syscall("semtimedop", "int ptr uint ptr", form="timespec", note=_STOPPED)
@syscall("i386:semtimedop_time64", "int ptr uint ptr", form="timespec64", note=_STOPPED)
def sys_semtimedop(t, semid, sops, nsops, timeout, form):
    return do_semtimedop(t, semid, sops, nsops, timeout, form)


def do_semtimedop(t, semid, sops, nsops, timeout, form="timespec"):
    """ksys_semtimedop's checks in its order (the timeout read, nsops,
    the operations read, the timeout's values), then the host's call:
    first without sleeping, so that operations that can be done are done
    even with a signal pending, as Linux does them."""
    check_available()
    ts = read_struct(t, timeout, form) if timeout else None
    if nsops < 1 or semid < 0:
        raise KernelError(E.EINVAL)
    if nsops > SEMOPM_FAST and nsops > _semopm():
        raise KernelError(E.E2BIG)
    try:
        raw = t.mm.read(sops, nsops * SEMBUF)
    except KernelError:
        if nsops > _semopm():
            raise KernelError(E.E2BIG) from None
        raise
    deadline = None
    if ts is not None:
        sec, nsec = ts
        if form == "timespec64" and t.abi == "i386":
            nsec &= 0xFFFFFFFF          # get_timespec64 from a compat task
        if sec < 0 or not 0 <= nsec < NSEC:
            raise KernelError(E.EINVAL)
        deadline = now_ns() + sec * NSEC + nsec
    ops = ctypes.create_string_buffer(raw, len(raw))
    try:
        return host("semtimedop", semid, ops, nsops, ctypes.byref(_timespec(0, 0)))
    except KernelError as e:
        if e.errno != E.EAGAIN:
            raise

    def remaining():
        if deadline is None:
            return semid, ops, nsops, 0
        left = max(0, deadline - now_ns())
        return semid, ops, nsops, ctypes.byref(_timespec(left // NSEC, left % NSEC))
    return host_blocking(t, E.EINTR, "semtimedop", retry=remaining)


@syscall("semctl", "int int int ulong")
def sys_semctl(t, semid, semnum, cmd, arg):
    check_available()
    if semid < 0:
        raise KernelError(E.EINVAL)
    if t.abi == "i386" and cmd & IPC_64 and cmd >= 0:
        cmd = _compat_flagged(t, semid, semnum, cmd, arg)
    return do_semctl(t, semid, semnum, cmd, arg)


def _compat_flagged(t, semid, semnum, cmd, arg):
    """i386's semctl with IPC_64 in cmd: compat_ksys_semctl switches on
    cmd without the flag but hands the flagged cmd on: IPC_STAT looks the
    set up as SEM_STAT does, SEM_INFO answers as IPC_INFO, SETVAL works,
    and the others end in EINVAL past the set's checks."""
    base = cmd & ~IPC_64
    if base == IPC_STAT:
        return SEM_STAT
    if base == SEM_INFO:
        return IPC_INFO
    if base in (IPC_INFO, SEM_STAT, SEM_STAT_ANY, SETVAL):
        return base
    if base in (GETPID, GETVAL, GETALL, GETNCNT, GETZCNT, SETALL):
        host("semctl", semid, semnum, GETVAL, 0)    # the lookup, read access, semnum
    elif base == IPC_SET:
        t.mm.read(arg, guest_size(t, "semid64_ds"))
    raise KernelError(E.EINVAL)


def _nsems(semid):
    """How many semaphores the set has (GETALL and SETALL copy that many)."""
    out = host_buffer("semid64_ds")
    try:
        host("semctl", semid, 0, IPC_STAT, out)
    except KernelError as e:
        # A set we may write but not read: SETALL still may.
        if e.errno != E.EACCES or host("semctl", semid, 0, SEM_STAT_ANY, out) != semid:
            raise
    return struct.unpack_from("<Q", out.raw, 80)[0]


def do_semctl(t, semid, semnum, cmd, arg, old=False):
    """semctl with cmd stripped of IPC_64; old: the multiplexer's old
    structures."""
    if semid < 0:
        raise KernelError(E.EINVAL)
    if cmd in (IPC_INFO, SEM_INFO):
        out = ctypes.create_string_buffer(SEMINFO_SIZE)
        r = host("semctl", semid, semnum, cmd, out)
        t.mm.write(arg, out.raw)
        return r
    def call(buf):
        return host("semctl", semid, semnum, cmd, buf)
    if cmd == GETALL:
        vals = (ctypes.c_ushort * _nsems(semid))()
        r = host("semctl", semid, semnum, GETALL, vals)
        t.mm.write(arg, bytes(vals))
        return r
    if cmd == SETALL:
        n = _nsems(semid)
        try:
            raw = t.mm.read(arg, 2 * n)
        except KernelError:
            host("semctl", semid, semnum, SETALL, 0)    # EACCES before EFAULT
            raise
        return host("semctl", semid, semnum, SETALL, ctypes.create_string_buffer(raw, 2 * n))
    if cmd == SETVAL:
        v = arg & 0xFFFFFFFF
        return host("semctl", semid, semnum, SETVAL, v - (1 << 32) if v >> 31 else v)
    return stat_set_or_bare(t, call, cmd, (IPC_STAT, SEM_STAT, SEM_STAT_ANY), "semid64_ds", arg,
                            old)
