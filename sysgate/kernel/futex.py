"""futex: wait and wake, as kernel/futex does them for a process with one
thread (threads are not modelled yet, so nobody else can wake a private
futex: a wait ends by its value check, its timeout or a signal).

A wait without a timeout is restarted with SA_RESTART (-ERESTARTSYS); one
with a timeout continues through restart_syscall to the same absolute
deadline, or fails with EINTR when a handler ran (futex_wait_restart).
"""
import struct

from . import sched
from .errors import KernelError, E
from .registry import syscall
from .time import get_timespec

FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE = 0, 1, 3, 4
FUTEX_WAKE_OP, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 5, 9, 10
FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME = 128, 256
CLOCK_REALTIME, CLOCK_MONOTONIC = 0, 1


def _wait(t, uaddr, val, deadline):
    if uaddr & 3:
        raise KernelError(E.EINVAL)
    if struct.unpack("<I", t.mm.read(uaddr, 4))[0] != val & 0xFFFFFFFF:
        raise KernelError(E.EAGAIN)
    restart = sched.ERESTARTSYS if deadline is None else sched.ERESTART_RESTARTBLOCK
    try:
        sched.sleep_until(t, deadline, restart)
    except KernelError as e:
        if e.errno == sched.ERESTART_RESTARTBLOCK:
            t.restart_block = lambda t2: _wait(t2, uaddr, val, deadline)
        raise
    raise KernelError(E.ETIMEDOUT)


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
    if op & FUTEX_CLOCK_REALTIME and cmd not in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
        raise KernelError(E.ENOSYS)
    if cmd in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
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
        return _wait(t, uaddr, val, deadline)
    if cmd in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
        if cmd == FUTEX_WAKE_BITSET and not val3 & 0xFFFFFFFF:
            raise KernelError(E.EINVAL)
        if uaddr & 3:
            raise KernelError(E.EINVAL)
        t.mm.read(uaddr, 4)
        return 0                 # no other thread can be waiting
    if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP):
        if uaddr & 3 or uaddr2 & 3:
            raise KernelError(E.EINVAL)
        cur = struct.unpack("<I", t.mm.read(uaddr, 4))[0]
        old = struct.unpack("<I", t.mm.read(uaddr2, 4))[0]
        if cmd == FUTEX_CMP_REQUEUE and cur != val3 & 0xFFFFFFFF:
            raise KernelError(E.EAGAIN)
        if cmd == FUTEX_WAKE_OP:
            t.mm.write(uaddr2, struct.pack("<I", _wake_op(old, val3)))
        return 0
    raise KernelError(E.ENOSYS)


@syscall("futex", "ptr int uint ptr ptr uint")
def sys_futex(t, uaddr, op, val, timeout, uaddr2, val3):
    return do_futex(t, uaddr, op, val, timeout, uaddr2, val3, t.is64)


@syscall("futex_time64", "ptr int uint ptr ptr uint")
def sys_futex_time64(t, uaddr, op, val, timeout, uaddr2, val3):
    return do_futex(t, uaddr, op, val, timeout, uaddr2, val3, True)
