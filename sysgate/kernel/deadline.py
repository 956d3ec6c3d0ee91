"""The guest's timers as an interrupt: a host thread that stops user code
when the next one is due (started with the first timer a process arms:
most never arm one)."""
import signal
import threading
import time

from .helperthread import Helper

RETRY_SECONDS = 0.005      # how soon a stop that may have been lost is repeated
_starting = threading.Lock()


class DeadlineWatch:
    """Stops user code when the guest's next timer is due, from a thread of
    its own, as a timer interrupt would: the run loop then fires the timer
    (sched.Timers) and delivers its signal. The stop is repeated until the
    deadline is re-planned (a stop can be lost when it lands just as
    emulation is restarted). No hook runs in user code, which keeps its
    full speed while a timer is armed."""

    def __init__(self, stop_cpu, blocked=()):
        self.stop_cpu = stop_cpu
        self.blocked = blocked     # host signals the thread keeps blocked (kernel.hostsig's)
        self.wanted = False        # started: the thread comes with the first deadline
        self.deadline = None       # CLOCK_MONOTONIC ns, None: no timer armed
        self.cond = threading.Condition()
        self.thread = None
        self.closing = False

    def start(self):
        self.closing = False
        self.wanted = True

    def _start_thread(self):
        with _starting:         # two guest threads arming their first timers
            if self.thread is not None:
                return
            old = signal.pthread_sigmask(signal.SIG_BLOCK, self.blocked)
            try:
                self.thread = Helper(self._watch)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def after_fork(self):
        """The thread did not survive the fork, and its lock may have been
        held by it; the child's comes with its first timer."""
        self.thread = None
        self.cond = threading.Condition()
        self.deadline = None

    def close(self):
        self.wanted = False
        if self.thread is None:
            return
        with self.cond:
            self.closing = True
            self.cond.notify()
        self.thread.join()
        self.thread = None

    def watch(self, deadline):
        """The guest's next timer is due at deadline (None: none is armed)."""
        if deadline == self.deadline:
            return
        if self.thread is None and self.wanted and deadline is not None:
            self._start_thread()
        with self.cond:
            self.deadline = deadline
            self.cond.notify()

    def _watch(self):
        with self.cond:
            while not self.closing:
                due = self.deadline
                if due is None:
                    self.cond.wait()
                    continue
                left = (due - time.clock_gettime_ns(time.CLOCK_MONOTONIC)) / 1e9
                if left > 0:
                    self.cond.wait(min(left, 3600.0))
                    continue
                self.stop_cpu()
                self.cond.wait(RETRY_SECONDS)
