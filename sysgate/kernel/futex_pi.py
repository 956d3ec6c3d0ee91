"""Priority-inheritance futexes (kernel/futex/pi.c) between the threads of
one process: the lock word holds the owner's tid, FUTEX_WAITERS once
someone sleeps on it, and FUTEX_OWNER_DIED after a robust owner's death.
UNLOCK_PI hands the lock to the first waiter (its tid goes into the word),
so the waiter returns owning it. Priorities themselves are not modelled: the
emulated CPU runs one thread at a time anyway.

A word in shared memory that is not FUTEX_PRIVATE may have its owner in
another process: there the host's own PI futex does the work (guest tids
are host tids)."""
import ctypes
import struct
import time

from . import sched
from .errors import KernelError, E
from .thread import host_wait

FUTEX_WAITERS, FUTEX_OWNER_DIED, FUTEX_TID_MASK = 0x80000000, 0x40000000, 0x3FFFFFFF
LOCK_PI, UNLOCK_PI, TRYLOCK_PI, LOCK_PI2 = 6, 7, 8, 13
CLOCK_REALTIME_FLAG = 256


def _word(t, uaddr):
    return struct.unpack("<I", t.mm.read(uaddr, 4))[0]


def _store(t, uaddr, v):
    t.mm.write(uaddr, struct.pack("<I", v & 0xFFFFFFFF))


def futex_pi(t, uaddr, op, cmd, timeout, wide):
    from .futex_core import shared_word, host_futex, checked
    if uaddr & 3:
        raise KernelError(E.EINVAL)
    deadline = None
    if timeout and cmd in (LOCK_PI, LOCK_PI2):
        from .time import get_timespec
        ns = get_timespec(t, timeout, wide)
        realtime = cmd == LOCK_PI or op & CLOCK_REALTIME_FLAG
        # Absolute on the guest's clock: the same distance away on ours.
        deadline = sched.now_ns() + ns - t.timekeeper.now(0 if realtime else 1)
    _word(t, uaddr)         # EFAULT first
    host = shared_word(t, uaddr, op)
    if host is not None:
        arg4 = buf = None
        if deadline is not None:
            realtime = cmd == LOCK_PI or op & CLOCK_REALTIME_FLAG
            at = deadline + (time.clock_gettime_ns(time.CLOCK_REALTIME) - sched.now_ns()
                             if realtime else 0)
            buf = ctypes.create_string_buffer(struct.pack("<qq", *divmod(max(at, 0), 10**9)))
            arg4 = ctypes.addressof(buf)
        with host_wait(t):
            return checked(host_futex(host, cmd | (op & CLOCK_REALTIME_FLAG), 0, arg4))
    if cmd == UNLOCK_PI:
        return _unlock(t, uaddr)
    return _lock(t, uaddr, deadline, trylock=cmd == TRYLOCK_PI)


def _owner_alive(t, tid):
    return tid in t.proc.threads


def _lock(t, uaddr, deadline, trylock):
    from .futex_core import Waiter, dequeue, enqueue, sleep_until_woken
    while True:
        val = _word(t, uaddr)
        owner = val & FUTEX_TID_MASK
        if owner == t.tid:
            raise KernelError(E.EDEADLK)
        if not owner:
            waiting = any(w.pi for w in t.proc.futex_queues.get(uaddr, ()))
            _store(t, uaddr, (val & FUTEX_OWNER_DIED) | t.tid
                   | (FUTEX_WAITERS if waiting else 0))
            return 0
        if trylock:
            raise KernelError(E.EAGAIN)
        if not _owner_alive(t, owner):
            raise KernelError(E.ESRCH if not val & FUTEX_OWNER_DIED else E.EAGAIN)
        _store(t, uaddr, val | FUTEX_WAITERS)
        lock = t.proc.cpu_sched
        if lock is None:
            # No other thread could ever unlock it: only a signal or the
            # timeout ends the wait.
            sched.sleep_until(t, deadline, sched.ERESTARTNOINTR)
            raise KernelError(E.ETIMEDOUT)
        w = Waiter(t, 0xFFFFFFFF, pi=True)
        enqueue(t, uaddr, w)
        try:
            sleep_until_woken(t, [w], deadline, sched.ERESTARTNOINTR)
        finally:
            dequeue(t, uaddr, w)
        return 0        # the unlocker made us the owner


def _unlock(t, uaddr):
    val = _word(t, uaddr)
    if val & FUTEX_TID_MASK != t.tid:
        raise KernelError(E.EPERM)
    q = t.proc.futex_queues.get(uaddr)
    waiters = [w for w in q or () if w.pi]
    if not waiters:
        _store(t, uaddr, 0)
        return 0
    w = waiters[0]
    q.remove(w)
    if not q:
        del t.proc.futex_queues[uaddr]
    _store(t, uaddr, w.task.tid | FUTEX_WAITERS)
    w.woken = True
    t.proc.cpu_sched.wake(w.task)
    return 0
