"""Blocking and timers: how a task waits, and how time wakes it.

A blocking call waits on the host (poll or sleep) only until the next
timer of the guest expires; when a signal becomes pending it gives up with
-ERESTARTSYS (or whatever restart code the call asks for), and the exit
work decides between restart and EINTR, as Linux's signal code does.
"""
import ctypes
import os
import select
import time as _time

from ..abi.consts import SIGALRM
from .cpulock import host_wait
from .errors import KernelError
from .sigpending import absorb_host_signals

ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK = 512, 513, 514, 516
NSEC = 10**9
EINTR = 4
# A timer storm degrades instead of starving the program: a periodic timer
# faster than this fires next this long after it fired (delivering its signal
# costs sysgate a few hundred microseconds; Linux's own answer to a timer
# faster than its signals is a program that never progresses).
MIN_GAP_NS = 1_000_000
# The host's poll takes an int of milliseconds; a longer wait is several.
MAX_POLL_MS = 2**31 - 1


def now_ns():
    return _time.clock_gettime_ns(_time.CLOCK_MONOTONIC)


# ktime_t's end of time: a timeout past it is a timeout at it (ktime_add_safe).
KTIME_MAX = 2**63 - 1


def deadline_after(ns):
    """The CLOCK_MONOTONIC deadline ns from now, saturated as Linux's."""
    return min(now_ns() + ns, KTIME_MAX)


class Timer:
    """One armed timer: when it expires it makes signo pending."""
    __slots__ = ("deadline", "interval", "signo", "overrun", "clock", "info")

    def __init__(self, signo, clock=1, info=None):
        self.deadline = None        # CLOCK_MONOTONIC ns, None when disarmed
        self.interval = 0
        self.signo = signo
        self.overrun = 0
        self.clock = clock
        self.info = info


class Timers:
    def __init__(self, task):
        self.task = task
        self.real = Timer(SIGALRM)          # ITIMER_REAL and alarm()
        self.posix = {}                     # timer id -> Timer
        self.deadline = None                # the earliest armed deadline, kept current
        self.wake = None                    # told each new earliest deadline

    def refresh(self):
        """Recompute the earliest deadline (after arming, firing or
        deleting); wake is told, so that user code runs no longer than the
        deadline (kernel.deadline.DeadlineWatch)."""
        self.deadline = self.next_deadline()
        if self.wake is not None:
            self.wake(self.deadline)

    def armed(self):
        return [t for t in [self.real, *self.posix.values()] if t.deadline is not None]

    def next_deadline(self):
        ds = [t.deadline for t in self.armed()]
        return min(ds) if ds else None

    def expire(self, now=None):
        """Fire every expired timer; True if any fired."""
        now = now_ns() if now is None else now
        fired = False
        for t in self.armed():
            if t.deadline <= now:
                fired = True
                if t.interval:
                    missed = (now - t.deadline) // t.interval
                    t.overrun = missed
                    t.deadline += (missed + 1) * t.interval
                    if t.interval < MIN_GAP_NS:
                        t.deadline = max(t.deadline, now + MIN_GAP_NS)
                else:
                    t.deadline = None
                self.task.raise_signal(t.signo, t.info)
        if fired:
            self.refresh()
        return fired


def interruptible(t):
    """True when a signal is pending that the task does not block."""
    absorb_host_signals(t)
    return bool(t.pending & ~t.sigmask)


def wait_budget(t, deadline):
    """Seconds to wait at most: up to deadline and the next timer."""
    nxt = t.timers.next_deadline()
    cands = [d for d in (deadline, nxt) if d is not None]
    if not cands:
        return None
    return max(0.0, (min(cands) - now_ns()) / NSEC)


def sleep_until(t, deadline, restart=ERESTARTSYS):
    """Sleep until CLOCK_MONOTONIC deadline; interrupted by a signal."""
    while True:
        t.timers.expire()
        if interruptible(t):
            raise KernelError(restart)
        left = wait_budget(t, deadline)
        if deadline is not None and now_ns() >= deadline:
            return
        _host_wait(t, (), min(left, 0.5) if left is not None else 0.5)


def _host_wait(t, polls, seconds):
    """Wait on the host for up to seconds (None: no limit), for one of the
    (fd, events) in polls or a signal from outside (kernel.hostsig); the
    [(fd, revents)] of polls that are ready (empty: none)."""
    p = select.poll()
    for fd, events in polls:
        p.register(fd, events)
    wake = t.host.wake_r if t.host is not None else -1
    if wake >= 0:
        p.register(wake, select.POLLIN)
    ms = None if seconds is None else min(MAX_POLL_MS, max(1, int(seconds * 1000))) \
        if seconds > 0 else 0
    if ms == 0:
        return [(fd, rev) for fd, rev in p.poll(ms) if fd != wake]
    with host_wait(t):          # the other threads run meanwhile
        got = p.poll(ms)
    return [(fd, rev) for fd, rev in got if fd != wake]


def poll_now(t, polls):
    """The [(fd, revents)] of polls ready now, without waiting."""
    return _host_wait(t, polls, 0)


def wait_event(t, polls=(), restart=ERESTARTSYS, deadline=None, poll_every=None):
    """One round of a blocking wait: returns the [(fd, revents)] of polls
    that are ready (empty when none is) once one may be ready, a
    signal or timer needs attention, or poll_every seconds passed (for
    conditions nothing can wake us for); raises the restart code when a
    signal interrupts."""
    t.timers.expire()
    if interruptible(t):
        raise KernelError(restart)
    budget = wait_budget(t, deadline)
    if poll_every is not None:
        budget = poll_every if budget is None else min(budget, poll_every)
    return _host_wait(t, polls, budget)


def wait_fd(t, host, write=False, restart=ERESTARTSYS):
    """Block until host fd is readable (or writable); interrupted by a
    signal. Returns at once when no timer could ever interrupt."""
    events = select.POLLOUT if write else select.POLLIN | select.POLLPRI
    while True:
        if wait_event(t, ((host, events),), restart):
            return


def host_call(t, fn, *args, restart=ERESTARTSYS):
    """fn(*args), a libc call that may block on the host (returns -1 with
    errno on failure): a signal from outside interrupts it (the helper
    thread pokes this thread, kernel.hostsig), and then the call gives up
    with restart, as a wait does. Its result, or OSError for its errno."""
    hs = t.host
    if hs is None:                  # no signal helper (a machine not run)
        r = fn(*args)
        if r < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return r
    while True:
        t.timers.expire()
        if interruptible(t):
            raise KernelError(restart)
        deadline = t.timers.deadline
        hs.enter_call()
        try:
            if hs.pending or getattr(t, "killed", False):
                continue
            if deadline is not None:
                hs.poke_at(deadline)
            with host_wait(t):          # the other threads run meanwhile
                r = fn(*args)
        finally:
            hs.leave_call()
            if deadline is not None:
                hs.poke_at(None)
        if r >= 0:
            return r
        err = ctypes.get_errno()
        if err != EINTR:
            raise OSError(err, os.strerror(err))
