"""What every futex operation shares (kernel/futex/core.c): the op codes,
the host's futex for words other processes reach, and the queues of
waiters between the threads of one process."""
import ctypes
import struct
import time

from . import sched
from .errors import KernelError, E
from .hostlibc import syscall_errno
from .sigpending import absorb_host_signals
from .tables.unistd import NR_X86_64

FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE = 0, 1, 3, 4
FUTEX_WAKE_OP, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 5, 9, 10
FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI = 6, 7, 8
FUTEX_WAIT_REQUEUE_PI, FUTEX_CMP_REQUEUE_PI, FUTEX_LOCK_PI2 = 11, 12, 13
FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME = 128, 256
CLOCK_REALTIME, CLOCK_MONOTONIC = 0, 1


# --- futexes other processes can reach: host futexes on host memory -----------
_HOST_POLL_NS = 20_000_000   # a host wait's slice, between looks for signals
NR_FUTEX_HOST, NR_FUTEX_WAITV_HOST = NR_X86_64["futex"], NR_X86_64["futex_waitv"]  # the host's
FUTEX2_SIZE_U32 = 2
_TIMESPEC = struct.Struct("<qq")
_INTERRUPTED = object()
_WAITV_OK = [True]       # emptied once the host refuses futex_waitv


def host_futex(addr, op, val, arg4=None, addr2=0, val3=0):
    """The host's futex(2) on host address addr: (result, errno). arg4 is a
    wait's absolute CLOCK_MONOTONIC deadline in ns, or a requeue's count."""
    if arg4 is not None and op & 0x7F in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
        arg4 = ctypes.create_string_buffer(_TIMESPEC.pack(*divmod(max(arg4, 0), 1_000_000_000)))
    elif arg4 is not None:
        arg4 = ctypes.c_void_p(arg4)
    return syscall_errno(NR_FUTEX_HOST, ctypes.c_void_p(addr), ctypes.c_int(op),
                         ctypes.c_uint(val & 0xFFFFFFFF), arg4, ctypes.c_void_p(addr2),
                         ctypes.c_uint(val3 & 0xFFFFFFFF))


def host_waitv(waiters, until_ns):
    """futex_waitv(2) on (host address, value, flags) triples with an
    absolute CLOCK_MONOTONIC deadline: (index woken, errno)."""
    arr = (ctypes.c_uint64 * (3 * len(waiters)))()
    for i, (addr, val, flags) in enumerate(waiters):
        arr[3 * i], arr[3 * i + 1], arr[3 * i + 2] = val & 0xFFFFFFFF, addr, flags
    ts = None
    if until_ns is not None:
        ts = ctypes.create_string_buffer(_TIMESPEC.pack(*divmod(max(until_ns, 0), 1_000_000_000)))
    return syscall_errno(NR_FUTEX_WAITV_HOST, arr, ctypes.c_uint(len(waiters)),
                         ctypes.c_uint(0), ts, ctypes.c_int(CLOCK_MONOTONIC))


def checked(result):
    r, err = result
    if r < 0:
        raise KernelError(err)
    return r


def shared_word(t, uaddr, op):
    """The host address of a futex word other processes may wait on or
    wake (a shared mapping, the futex not private), or None."""
    if op & FUTEX_PRIVATE_FLAG:
        return None
    v = t.mm.find(uaddr)
    if v is None or not v.shared or not v.backed or uaddr + 4 > v.end:
        return None
    return v.ptr + (uaddr - v.start)


# --- this process's queues ---------------------------------------------------
class Waiter:
    __slots__ = ("task", "bitset", "woken", "pi", "requeue")

    def __init__(self, task, bitset, pi=False):
        self.task, self.bitset, self.woken, self.pi = task, bitset, False, pi
        self.requeue = None     # FUTEX_WAIT_REQUEUE_PI: the PI futex it is bound for


def enqueue(t, uaddr, w):
    t.proc.futex_queues.setdefault(uaddr, []).append(w)


def dequeue(t, uaddr, w):
    """Take w off uaddr's queue if a wake has not already done so."""
    q = t.proc.futex_queues.get(uaddr)
    if q is not None and w in q:
        q.remove(w)
        if not q:
            del t.proc.futex_queues[uaddr]


def sleep_until_woken(t, waiters, deadline, restart):
    """Sleep on the CPU lock until one of waiters is woken (its index), a
    signal comes (restart) or the deadline (CLOCK_MONOTONIC ns) passes
    (ETIMEDOUT); the guest's timers still fire meanwhile."""
    lock = t.proc.cpu_sched
    timers = t.timers
    while True:
        for i, w in enumerate(waiters):
            if w.woken:
                return i
        if timers.deadline is not None:     # kept current (Timers.refresh)
            timers.expire()
        absorb_host_signals(t)              # sched.interruptible, inline
        if t.pending & ~t.sigmask:
            raise KernelError(restart)
        until = timers.deadline
        if deadline is not None and (until is None or deadline < until):
            until = deadline
        if until is None:
            lock.sleep(t)           # a futex hand-off: no clock to read
            continue
        now = sched.now_ns()
        if deadline is not None and now >= deadline:
            raise KernelError(E.ETIMEDOUT)
        lock.sleep(t, time.monotonic() + (until - now) / 1e9)
