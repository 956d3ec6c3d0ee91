"""Blocking and timers: how a task waits, and how time wakes it.

A blocking call waits on the host (poll or sleep) only until the next
timer of the guest expires; when a signal becomes pending it gives up with
-ERESTARTSYS (or whatever restart code the call asks for), and the exit
work decides between restart and EINTR, as Linux's signal code does.
"""
import select
import time as _time

from .errors import KernelError

ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK = 512, 513, 514, 516
NSEC = 10**9
SIGALRM = 14


def now_ns():
    return _time.clock_gettime_ns(_time.CLOCK_MONOTONIC)


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
        self.wake = None                    # called when a timer is armed

    def refresh(self):
        """Recompute the earliest deadline (after arming or deleting); the
        run loop is told, so user code runs no longer than the deadline."""
        self.deadline = self.next_deadline()
        if self.deadline is not None and self.wake is not None:
            self.wake()

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
                else:
                    t.deadline = None
                self.task.raise_signal(t.signo, t.info)
        if fired:
            self.refresh()
        return fired


def interruptible(t):
    """True when a signal is pending that the task does not block."""
    return bool(t.pending & ~t.sigmask)


def _wait_budget(t, deadline):
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
        left = _wait_budget(t, deadline)
        if deadline is not None and now_ns() >= deadline:
            return
        _time.sleep(min(left, 0.5) if left is not None else 0.5)


def wait_fd(t, host, write=False, restart=ERESTARTSYS):
    """Block until host fd is readable (or writable); interrupted by a
    signal. Returns at once when no timer could ever interrupt."""
    events = select.POLLOUT if write else select.POLLIN | select.POLLPRI
    p = select.poll()
    p.register(host, events)
    while True:
        t.timers.expire()
        if interruptible(t):
            raise KernelError(restart)
        budget = _wait_budget(t, None)
        if budget is None and not t.timers.armed():
            return        # nothing can interrupt: let the host call block
        ms = None if budget is None else max(1, int(budget * 1000))
        if p.poll(ms):
            return
