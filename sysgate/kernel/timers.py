"""Timers that send signals: alarm, setitimer/getitimer (ITIMER_REAL) and
POSIX timers on CLOCK_REALTIME/MONOTONIC (timer_create and friends)."""
import struct

from ..abi.structs import read_struct, write_cut, write_struct
from .errors import KernelError, E
from .registry import syscall
from .sched import NSEC, Timer, deadline_after, now_ns
from .sigframe import siginfo

ITIMER_REAL = 0
CPU_TIMERS = (1, 2)        # ITIMER_VIRTUAL, ITIMER_PROF
SIGEV_SIGNAL, SIGEV_NONE = 0, 1
SI_TIMER = -2
TIMER_ABSTIME = 1
USEC = 1000


def _remaining(timer):
    """Time left; an armed timer never reports zero (Linux reports 1 us)."""
    if timer.deadline is None:
        return 0
    return max(USEC, timer.deadline - now_ns())


def _layout(unit, wide):
    return "itimerval" if unit != 1 else "itimerspec64" if wide else "itimerspec"


def read_pair(t, addr, unit, wide=False):
    """An itimerval (unit 1000) or itimerspec (unit 1): (interval, value) in ns."""
    a, b, c, d = read_struct(t, addr, _layout(unit, wide))
    if min(a, b, c, d) < 0 or b >= NSEC // unit or d >= NSEC // unit:
        raise KernelError(E.EINVAL)
    return a * NSEC + b * unit, c * NSEC + d * unit


def write_pair(t, addr, interval, value, unit, wide=False):
    """An itimerval (unit 1000) or itimerspec (unit 1); the seconds cut to
    the ABI's word, as the compat copy-out cuts them."""
    vals = []
    for ns in (interval, value):
        sec, rest = divmod(ns, NSEC)
        vals += [sec, rest // unit]
    write_cut(t, addr, _layout(unit, wide), *vals)


def _arm(t, timer, interval, value):
    timer.interval = interval
    timer.deadline = None if value == 0 else deadline_after(value)
    t.timers.refresh()


@syscall("alarm", "uint")
def sys_alarm(t, seconds):
    timer = t.timers.real
    left = _remaining(timer)
    _arm(t, timer, 0, seconds * NSEC)
    # Linux rounds the seconds left to the nearest, and never reports 0
    # for a pending alarm.
    return ((left + NSEC // 2) // NSEC or (1 if left else 0)) & 0xFFFFFFFF


@syscall("setitimer", "which ptr ptr")
def sys_setitimer(t, which, new, old):
    if which in CPU_TIMERS and not new:
        # The CPU-time timers are not modelled; disarming one (a NULL new
        # value, which Linux takes as zero) is answered as Linux does.
        if old:
            write_pair(t, old, 0, 0, USEC)
        return 0
    if which != ITIMER_REAL:
        raise KernelError(E.EINVAL)
    timer = t.timers.real
    vals = read_pair(t, new, USEC) if new else (0, 0)
    if old:
        write_pair(t, old, timer.interval, _remaining(timer), USEC)
    _arm(t, timer, *vals)
    return 0


@syscall("getitimer", "which ptr")
def sys_getitimer(t, which, cur):
    if which != ITIMER_REAL:
        raise KernelError(E.EINVAL)
    write_pair(t, cur, t.timers.real.interval, _remaining(t.timers.real), USEC)
    return 0


@syscall("timer_create", "clock ptr ptr")
def sys_timer_create(t, clock, sevp, idp):
    if clock not in (0, 1, 7):
        raise KernelError(E.EINVAL)
    signo, notify, value = 14, SIGEV_SIGNAL, 0
    if sevp:
        value, signo, notify = read_struct(t, sevp, "sigevent")
        # good_sigevent: the signal number matters only to SIGEV_SIGNAL.
        if notify not in (SIGEV_SIGNAL, SIGEV_NONE) or \
                notify == SIGEV_SIGNAL and not 1 <= signo <= 64:
            raise KernelError(E.EINVAL)
    tid = len(t.timers.posix)
    while tid in t.timers.posix:
        tid += 1
    info = siginfo(signo, SI_TIMER, True)
    # si_timerid, si_overrun, si_value as kill_pid_info fills them for timers
    info = info[:16] + struct.pack("<iiQ", tid, 0, value) + info[32:]
    timer = Timer(signo if notify == SIGEV_SIGNAL else 0, clock, info)
    write_struct(t, idp, "int", tid)
    t.timers.posix[tid] = timer
    return 0


def _posix(t, tid):
    timer = t.timers.posix.get(tid)
    if timer is None:
        raise KernelError(E.EINVAL)
    return timer


# The 64 names are i386's calls with a 64-bit time_t.
@syscall("timer_settime", "int flags ptr ptr")
@syscall("timer_settime64", "int flags ptr ptr", wide=True)
def sys_timer_settime(t, tid, flags, new, old, wide=False):
    timer = _posix(t, tid)
    interval, value = read_pair(t, new, 1, wide)
    if old:
        write_pair(t, old, timer.interval, _remaining(timer), 1, wide)
    if flags & TIMER_ABSTIME and value:
        # Absolute times are on the timer's clock; deadlines are monotonic.
        from .time import clock_ns
        value = max(1, value - clock_ns(t, timer.clock))
    _arm(t, timer, interval, value)
    return 0


@syscall("timer_gettime", "int ptr")
@syscall("timer_gettime64", "int ptr", wide=True)
def sys_timer_gettime(t, tid, cur, wide=False):
    timer = _posix(t, tid)
    write_pair(t, cur, timer.interval, _remaining(timer), 1, wide)
    return 0


@syscall("timer_getoverrun", "int")
def sys_timer_getoverrun(t, tid):
    return _posix(t, tid).overrun


@syscall("timer_delete", "int")
def sys_timer_delete(t, tid):
    _posix(t, tid)
    del t.timers.posix[tid]
    t.timers.refresh()
    return 0
