"""FUTEX_WAIT_REQUEUE_PI and FUTEX_CMP_REQUEUE_PI (kernel/futex/requeue.c):
a waiter sleeps on a plain futex (a condition variable's word) and is
moved by the requeuer onto a PI futex (its mutex), returning only once it
owns that mutex. The two calls pair only with each other: a plain wake or
requeue that meets such a waiter, or a requeue-PI that meets a plain
waiter, fails with EINVAL, as futex_wake and futex_requeue do.

Outcomes for the waiter, as futex_wait_requeue_pi gives them:
- the requeuer found the PI futex free and took it on the waiter's
  behalf, or an unlock handed it over after the requeue: 0, owner;
- a signal before the requeue: -ERESTARTNOINTR (the call is made again,
  handler or not); after it, while blocked on the PI futex: -EAGAIN
  (making the call again would find the value changed anyway);
- the timeout (absolute; CLOCK_REALTIME with FUTEX_CLOCK_REALTIME):
  ETIMEDOUT, before or after the requeue.

Both words in shared memory and not FUTEX_PRIVATE: the host does both
calls on the host addresses (guest tids are host tids), so waiter and
requeuer may be different processes. There a signal reaches the waiter
only once its host call returns: the host restarts a requeue-PI wait
itself (-ERESTARTNOINTR) when sysgate's poke interrupts it.
"""
import ctypes
import struct
import time

from . import sched
from .errors import KernelError, E
from .thread import host_wait

FUTEX_WAITERS, FUTEX_OWNER_DIED, FUTEX_TID_MASK = 0x80000000, 0x40000000, 0x3FFFFFFF
WAIT_REQUEUE_PI, CMP_REQUEUE_PI = 11, 12
CLOCK_REALTIME_FLAG = 256
USER_PTR_MAX = 0x7FFFFFFFF000          # access_ok's limit for x86-64 tasks


def _word(t, uaddr):
    return struct.unpack("<I", t.mm.read(uaddr, 4))[0]


def _store(t, uaddr, v):
    t.mm.write(uaddr, struct.pack("<I", v & 0xFFFFFFFF))


def _key_ok(uaddr):
    """get_futex_key for a private futex: alignment, then access_ok (no
    memory is touched)."""
    if uaddr & 3:
        raise KernelError(E.EINVAL)
    if uaddr + 4 > USER_PTR_MAX:
        raise KernelError(E.EFAULT)


def _both_shared(t, uaddr, uaddr2, op):
    from .futex_core import shared_word
    h1, h2 = shared_word(t, uaddr, op), shared_word(t, uaddr2, op)
    return (h1, h2) if h1 is not None and h2 is not None else None


# --- the waiter -------------------------------------------------------------
def wait_requeue_pi(t, uaddr, op, val, deadline, uaddr2):
    """deadline: CLOCK_MONOTONIC ns (the guest's absolute timeout moved
    onto that clock), or None. The call's bitset is always "any"
    (do_futex ignores val3 here)."""
    from .futex_core import Waiter, dequeue, enqueue, sleep_until_woken
    bitset = 0xFFFFFFFF
    if uaddr == uaddr2:
        raise KernelError(E.EINVAL)
    _key_ok(uaddr2)
    _key_ok(uaddr)
    if _word(t, uaddr) != val & 0xFFFFFFFF:
        raise KernelError(E.EAGAIN)
    hosts = _both_shared(t, uaddr, uaddr2, op)
    if hosts is not None:
        return _host_wait_requeue(t, hosts, op, val, deadline, bitset)
    if t.proc.cpu_sched is None:
        # No other thread could requeue us: a signal or the timeout.
        sched.sleep_until(t, deadline, sched.ERESTARTNOINTR)
        raise KernelError(E.ETIMEDOUT)
    w = Waiter(t, bitset)
    w.requeue = uaddr2
    enqueue(t, uaddr, w)
    try:
        sleep_until_woken(t, [w], deadline, sched.ERESTARTNOINTR)
    except KernelError as e:
        if w.pi and e.errno == sched.ERESTARTNOINTR:
            raise KernelError(E.EAGAIN) from None
        raise
    finally:
        dequeue(t, uaddr2 if w.pi else uaddr, w)
    return 0


def _host_wait_requeue(t, hosts, op, val, deadline, bitset):
    from .futex_core import host_futex, checked
    buf = None
    if deadline is not None:
        at = deadline
        if op & CLOCK_REALTIME_FLAG:
            at += time.clock_gettime_ns(time.CLOCK_REALTIME) - sched.now_ns()
        buf = ctypes.create_string_buffer(struct.pack("<qq", *divmod(max(at, 0), 10**9)))
    arg4 = ctypes.addressof(buf) if buf is not None else None
    with host_wait(t):
        return checked(host_futex(hosts[0], WAIT_REQUEUE_PI | (op & CLOCK_REALTIME_FLAG),
                                    val, arg4, hosts[1], bitset))


# --- the requeuer -------------------------------------------------------------
def cmp_requeue_pi(t, uaddr, op, nr_wake, nr_requeue, uaddr2, cmpval):
    """nr_wake and nr_requeue are already signed."""
    from .futex_core import host_futex, checked
    if nr_wake < 0 or nr_requeue < 0 or uaddr == uaddr2 or nr_wake != 1:
        raise KernelError(E.EINVAL)
    _key_ok(uaddr)
    _key_ok(uaddr2)
    hosts = _both_shared(t, uaddr, uaddr2, op)
    if hosts is not None:
        return checked(host_futex(hosts[0], CMP_REQUEUE_PI, nr_wake, nr_requeue,
                                    hosts[1], cmpval))
    if _word(t, uaddr) != cmpval & 0xFFFFFFFF:
        raise KernelError(E.EAGAIN)
    pi_val = _word(t, uaddr2)
    queues = t.proc.futex_queues
    q = queues.get(uaddr)
    if not q:
        return 0
    count = 0
    top = q[0]
    _check_waiter(top, uaddr2)
    owner = pi_val & FUTEX_TID_MASK
    if owner == top.task.tid:
        raise KernelError(E.EDEADLK)
    if not owner:
        # Free: taken at once for the top waiter, which returns owning it;
        # FUTEX_WAITERS already when more are to follow it.
        _store(t, uaddr2, (pi_val & FUTEX_OWNER_DIED) | top.task.tid
               | (FUTEX_WAITERS if nr_requeue else 0))
        _take(queues, uaddr, top)
        top.woken = True
        t.proc.cpu_sched.wake(top.task)
        count = 1
    else:
        if owner not in t.proc.threads:
            raise KernelError(E.ESRCH)
        if not pi_val & FUTEX_WAITERS:
            _store(t, uaddr2, pi_val | FUTEX_WAITERS)
    holder = top.task.tid if not owner else owner
    for w in list(queues.get(uaddr, ())):
        if count - nr_wake >= nr_requeue:
            break
        _check_waiter(w, uaddr2)
        if w.task.tid == holder:
            raise KernelError(E.EDEADLK)     # rt_mutex_start_proxy_lock's deadlock
        _take(queues, uaddr, w)
        w.pi = True                          # now a LOCK_PI waiter on uaddr2
        queues.setdefault(uaddr2, []).append(w)
        count += 1
    return count


def _check_waiter(w, uaddr2):
    if w.requeue != uaddr2 or w.pi:
        raise KernelError(E.EINVAL)


def _take(queues, uaddr, w):
    q = queues[uaddr]
    q.remove(w)
    if not q:
        del queues[uaddr]
