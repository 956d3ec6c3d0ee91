"""futex: wait and wake, as kernel/futex does them.

Between the threads of one process a futex is a queue of waiters kept
here, keyed by address; the value check and the queueing are atomic with
respect to the other threads because the caller holds the process's CPU
(kernel.cpulock) until it sleeps. A process with one thread has no queue:
nobody could wake it, so a wait ends by its value check, its timeout or a
signal.

A futex in shared memory (a shared file or anonymous mapping, which is host
memory) that is not FUTEX_PRIVATE is shared with other processes: there the
call is the host's own futex on the host address, so guest processes wake
each other (a process-shared mutex or semaphore).

A wait without a timeout is restarted with SA_RESTART (-ERESTARTSYS); one
with a timeout continues through restart_syscall to the same absolute
deadline, or fails with EINTR when a handler ran (futex_wait_restart).
"""
import ctypes
import struct

from . import sched
from .errors import KernelError, E
from .registry import syscall
from .thread import host_wait
from .time import get_timespec
from .futex_core import (  # noqa: F401 (the op codes, for importers)
    FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP,
    FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET, FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI,
    FUTEX_WAIT_REQUEUE_PI, FUTEX_CMP_REQUEUE_PI, FUTEX_LOCK_PI2, FUTEX_PRIVATE_FLAG,
    FUTEX_CLOCK_REALTIME, CLOCK_REALTIME, CLOCK_MONOTONIC, FUTEX2_SIZE_U32, _HOST_POLL_NS,
    _INTERRUPTED, _WAITV_OK, Waiter, checked, dequeue, enqueue, host_futex, host_waitv,
    shared_word, sleep_until_woken)


def _host_wait(t, host, val, deadline, bitset):
    """Wait on the host futex at host: 0 when woken, else a negative errno,
    or _INTERRUPTED for a signal. The wait also watches the signal word of
    kernel.hostsig (futex_waitv), which the helper thread bumps and wakes
    for each signal from outside: no wake and no signal can slip in between
    the looks and the wait."""
    first = True
    word = ctypes.c_uint32.from_address(host)
    while True:
        seq = t.host.signal_seq()
        t.timers.expire()
        if sched.interruptible(t):
            return _INTERRUPTED
        now = sched.now_ns()
        if deadline is not None and now >= deadline:
            return -E.ETIMEDOUT
        until = [d for d in (deadline, t.timers.next_deadline()) if d is not None]
        until = min(until) if until else None
        r, err = -1, E.ENOSYS
        if bitset == 0xFFFFFFFF and _WAITV_OK:
            r, err = host_waitv(((host, val, FUTEX2_SIZE_U32),
                                  (t.host.signal_word_addr(), seq,
                                   FUTEX2_SIZE_U32 | FUTEX_PRIVATE_FLAG)), until)
            if err not in (0, E.EAGAIN, E.ETIMEDOUT, E.EINTR):
                # No futex_waitv (before Linux 5.16), or a seccomp filter
                # refuses it: slices from now on.
                _WAITV_OK.clear()
        if r < 0 and err not in (E.EAGAIN, E.ETIMEDOUT, E.EINTR):
            cap = now + _HOST_POLL_NS
            r, err = host_futex(host, FUTEX_WAIT_BITSET, val,
                                 cap if until is None else min(until, cap), 0, bitset)
            if r < 0 and err not in (E.EAGAIN, E.ETIMEDOUT, E.EINTR):
                return -err
        if r == 0:
            return 0
        if err == E.EAGAIN and word.value != val & 0xFFFFFFFF:
            # Changed before we slept: EAGAIN; changed while we looked for
            # signals between two waits: a wake we could not see.
            return -E.EAGAIN if first else 0
        first = False


def _load_u32(t, uaddr):
    """The futex word (uaddr aligned), read as user code would: in place
    when the CPU maps it from host memory, else through the checked read."""
    v = t.mm.cpu.user_u32(uaddr)
    if v is None:
        v = struct.unpack("<I", t.mm.read(uaddr, 4))[0]
    return v


TASK_SIZE_MAX = (1 << 47) - 0x1000


def _futex_key(t, uaddr, op):
    """get_futex_key's faults: a private futex's key is its address, and
    only access_ok is checked (a wake on an unmapped word finds no waiter,
    it does not fault); a shared one's page is looked up (EFAULT when
    unmapped)."""
    if op & FUTEX_PRIVATE_FLAG:
        if uaddr >= TASK_SIZE_MAX:
            raise KernelError(E.EFAULT)
    elif t.mm.cpu.user_u32(uaddr) is None:
        _load_u32(t, uaddr)


def _wait(t, uaddr, val, deadline, op=0, bitset=0xFFFFFFFF):
    if uaddr & 3:
        raise KernelError(E.EINVAL)
    cur = t.mm.cpu.user_u32(uaddr)       # _load_u32, inline
    if cur is None:
        cur = _load_u32(t, uaddr)
    if cur != val & 0xFFFFFFFF:
        raise KernelError(E.EAGAIN)
    restart = sched.ERESTARTSYS if deadline is None else sched.ERESTART_RESTARTBLOCK
    host = None if op & FUTEX_PRIVATE_FLAG else shared_word(t, uaddr, op)
    try:
        if host is None:
            if t.proc.cpu_sched is not None:
                # Queue and sleep (the hand-off's path: no call spared)
                w = Waiter(t, bitset)
                queues = t.proc.futex_queues
                q = queues.get(uaddr)
                if q is None:
                    queues[uaddr] = [w]
                else:
                    q.append(w)
                try:
                    return sleep_until_woken(t, (w,), deadline, restart)
                finally:
                    if not w.woken:
                        dequeue(t, uaddr, w)
            sched.sleep_until(t, deadline, restart)
            raise KernelError(E.ETIMEDOUT)
        with host_wait(t):
            r = _host_wait(t, host, val, deadline, bitset)
        if r is _INTERRUPTED:
            raise KernelError(restart)
        if r < 0:
            raise KernelError(-r)
        return 0
    except KernelError as e:
        if e.errno == sched.ERESTART_RESTARTBLOCK:
            t.restart_block = lambda t2: _wait(t2, uaddr, val, deadline, op, bitset)
        raise


def wake_queue(t, uaddr, n, bitset=0xFFFFFFFF):
    """Wake up to n of this process's waiters on uaddr. A PI or requeue-PI
    waiter met on the way is EINVAL (futex_wake), after the wakes so far."""
    q = t.proc.futex_queues.get(uaddr)
    if not q or n <= 0:
        return 0
    woken = 0
    wake = t.proc.cpu_sched.wake
    for w in list(q):
        if w.pi or w.requeue is not None:
            if not q:
                del t.proc.futex_queues[uaddr]
            raise KernelError(E.EINVAL)
        if not w.bitset & bitset:
            continue
        q.remove(w)
        w.woken = True
        wake(w.task)
        woken += 1
        if woken >= n:
            break
    if not q:
        del t.proc.futex_queues[uaddr]
    return woken


def _requeue(t, uaddr, uaddr2, n, nr_requeue):
    woken = wake_queue(t, uaddr, n)
    q = t.proc.futex_queues.get(uaddr)
    moved = 0
    while q and moved < nr_requeue:
        if q[0].pi or q[0].requeue is not None:
            raise KernelError(E.EINVAL)     # only CMP_REQUEUE_PI may move those
        t.proc.futex_queues.setdefault(uaddr2, []).append(q.pop(0))
        moved += 1
    if q is not None and not q:
        del t.proc.futex_queues[uaddr]
    return woken + moved


_CMP = {0: lambda a, b: a == b, 1: lambda a, b: a != b, 2: lambda a, b: a < b,
        3: lambda a, b: a <= b, 4: lambda a, b: a > b, 5: lambda a, b: a >= b}


def _s32(v):
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >> 31 else v


def _wake_op(old, encoded):
    """The new value FUTEX_WAKE_OP stores: op (SET, ADD, OR, ANDN, XOR) with
    a 12-bit argument, shifted first when FUTEX_OP_OPARG_SHIFT is set."""
    op, arg = (encoded >> 28) & 7, (encoded >> 12) & 0xFFF
    if arg & 0x800:
        arg -= 0x1000
    if encoded >> 31:
        arg = 1 << (arg & 31)
    new = {0: arg, 1: old + arg, 2: old | arg, 3: old & ~arg, 4: old ^ arg}.get(op)
    if new is None:
        raise KernelError(E.ENOSYS)
    return new & 0xFFFFFFFF


def do_futex(t, uaddr, op, val, timeout, uaddr2, val3, wide):
    cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
    if op & FUTEX_CLOCK_REALTIME and cmd not in (FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI,
                                                 FUTEX_LOCK_PI2):
        raise KernelError(E.ENOSYS)
    if cmd in (FUTEX_LOCK_PI, FUTEX_LOCK_PI2, FUTEX_TRYLOCK_PI, FUTEX_UNLOCK_PI):
        from .futex_pi import futex_pi
        return futex_pi(t, uaddr, op, cmd, timeout, wide)
    if cmd == FUTEX_CMP_REQUEUE_PI:
        from .futex_requeue import cmp_requeue_pi
        return cmp_requeue_pi(t, uaddr, op, _s32(val), _s32(timeout), uaddr2, val3)
    if cmd in (FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI):
        if cmd == FUTEX_WAIT_BITSET and not val3 & 0xFFFFFFFF:
            raise KernelError(E.EINVAL)
        deadline = None
        if timeout:
            ns = get_timespec(t, timeout, wide)
            if cmd == FUTEX_WAIT:
                deadline = sched.now_ns() + ns          # relative, on CLOCK_MONOTONIC
            else:
                # Absolute, on the guest's own clock: the same distance away
                # on the host's monotonic clock.
                clock = CLOCK_REALTIME if op & FUTEX_CLOCK_REALTIME else CLOCK_MONOTONIC
                deadline = sched.now_ns() + ns - t.timekeeper.now(clock)
        if cmd == FUTEX_WAIT_REQUEUE_PI:
            from .futex_requeue import wait_requeue_pi
            return wait_requeue_pi(t, uaddr, op, val, deadline, uaddr2)
        return _wait(t, uaddr, val, deadline, op,
                     val3 if cmd == FUTEX_WAIT_BITSET else 0xFFFFFFFF)
    if cmd in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
        bitset = val3 & 0xFFFFFFFF if cmd == FUTEX_WAKE_BITSET else 0xFFFFFFFF
        if not bitset:
            raise KernelError(E.EINVAL)
        if uaddr & 3:
            raise KernelError(E.EINVAL)
        if not op & FUTEX_PRIVATE_FLAG:
            _futex_key(t, uaddr, op)
            host = shared_word(t, uaddr, op)
            if host is not None:
                return checked(host_futex(host, FUTEX_WAKE_BITSET, val, val3=bitset))
        elif uaddr >= TASK_SIZE_MAX:
            raise KernelError(E.EFAULT)     # _futex_key's private case, inline
        if t.proc.cpu_sched is None:
            return 0             # no other thread can be waiting
        n = val & 0xFFFFFFFF
        return wake_queue(t, uaddr, n if 0 < n < 0x80000000 else 1, bitset)
    if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP):
        if uaddr & 3 or uaddr2 & 3:
            raise KernelError(E.EINVAL)
        nr2 = _s32(timeout)      # the "timeout" argument is a count here
        if cmd != FUTEX_WAKE_OP and (_s32(val) < 0 or nr2 < 0):
            raise KernelError(E.EINVAL)
        _futex_key(t, uaddr, op)
        _futex_key(t, uaddr2, op)
        # Only CMP_REQUEUE reads the first word, only WAKE_OP the second.
        cur = _load_u32(t, uaddr) if cmd == FUTEX_CMP_REQUEUE else None
        old = _load_u32(t, uaddr2) if cmd == FUTEX_WAKE_OP else None
        host, host2 = shared_word(t, uaddr, op), shared_word(t, uaddr2, op)
        if host is not None and host2 is not None:
            # Both words are shared memory: the host does the whole call,
            # waiters in other processes included.
            return checked(host_futex(host, cmd, val, timeout, host2, val3))
        if cmd == FUTEX_CMP_REQUEUE and cur != val3 & 0xFFFFFFFF:
            raise KernelError(E.EAGAIN)
        if cmd == FUTEX_WAKE_OP:
            cmp = (val3 >> 24) & 15
            if cmp not in _CMP:
                raise KernelError(E.ENOSYS)
            t.mm.write(uaddr2, struct.pack("<I", _wake_op(old, val3)))
            arg = val3 & 0xFFF
            arg = arg - 0x1000 if arg & 0x800 else arg
            woken = _wake_private(t, uaddr, val) if host is None else \
                checked(host_futex(host, FUTEX_WAKE, val))
            if _CMP[cmp](_s32(old), arg):
                woken += _wake_private(t, uaddr2, nr2) if host2 is None else \
                    checked(host_futex(host2, FUTEX_WAKE, nr2))
            return woken
        if host is not None:
            # One word shared, the other private: waiters elsewhere on the
            # shared one are woken, none is requeued into this process.
            return checked(host_futex(host, FUTEX_WAKE, val))
        if t.proc.cpu_sched is None:
            return 0
        return _requeue(t, uaddr, uaddr2, _s32(val), nr2)
    raise KernelError(E.ENOSYS)


def _wake_private(t, uaddr, n, bitset=0xFFFFFFFF):
    """futex_wake for a word only this process's threads can wait on."""
    if t.proc.cpu_sched is None:
        return 0             # no other thread can be waiting
    n = _s32(n)
    return wake_queue(t, uaddr, n if n > 0 else 1, bitset)


@syscall("futex", "ptr int uint ptr ptr uint")
def sys_futex(t, uaddr, op, val, timeout, uaddr2, val3):
    return do_futex(t, uaddr, op, val, timeout, uaddr2, val3, t.is64)


@syscall("futex_time64", "ptr int uint ptr ptr uint")
def sys_futex_time64(t, uaddr, op, val, timeout, uaddr2, val3):
    return do_futex(t, uaddr, op, val, timeout, uaddr2, val3, True)


# --- futex_waitv: wait on several words at once (Linux 5.16) --------------------
FUTEX2_SIZE_MASK, FUTEX2_PRIVATE, FUTEX_WAITV_MAX = 3, 128, 128
_WAITV = struct.Struct("<QQII")


@syscall("futex_waitv", "ptr uint flags ptr clock")
def sys_futex_waitv(t, waiters, nr, flags, timeout, clockid):
    if flags or not 0 < nr <= FUTEX_WAITV_MAX:
        raise KernelError(E.EINVAL)
    deadline = None
    if timeout:
        if clockid not in (CLOCK_REALTIME, CLOCK_MONOTONIC):
            raise KernelError(E.EINVAL)
        ns = get_timespec(t, timeout, True)
        deadline = sched.now_ns() + ns - t.timekeeper.now(clockid)
    raw = t.mm.read(waiters, _WAITV.size * nr)
    words = []
    for i in range(nr):
        val, uaddr, wflags, reserved = _WAITV.unpack_from(raw, i * _WAITV.size)
        if reserved or wflags & ~(FUTEX2_SIZE_MASK | FUTEX2_PRIVATE) \
                or wflags & FUTEX2_SIZE_MASK != FUTEX2_SIZE_U32 or uaddr & 3 \
                or val >> 32:
            raise KernelError(E.EINVAL)
        words.append((uaddr, val))
    for uaddr, val in words:
        if struct.unpack("<I", t.mm.read(uaddr, 4))[0] != val:
            raise KernelError(E.EAGAIN)
    restart = sched.ERESTARTSYS
    lock = t.proc.cpu_sched
    if lock is None:
        # No other thread: only a signal or the timeout ends the wait.
        sched.sleep_until(t, deadline, restart)
        raise KernelError(E.ETIMEDOUT)
    mine = [Waiter(t, 0xFFFFFFFF) for _ in words]
    for w, (uaddr, _) in zip(mine, words):
        enqueue(t, uaddr, w)
    try:
        return sleep_until_woken(t, mine, deadline, restart)
    finally:
        for w, (uaddr, _) in zip(mine, words):
            dequeue(t, uaddr, w)
