"""The CPU lock: one CPU per process, shared by its threads.

A process's threads share one Unicorn engine (so memory and the translation
cache are shared for free). The CPU lock is the big kernel lock of that
machine: a thread holds it while it runs user code or kernel Python, and
lets go of it only around a host wait (a blocking call, a futex wait) or
when its slice is over. Whoever takes the lock loads its own register
context into the engine (machine.switch_to).

Slices: without --seed, a helper asks user code that has held the CPU for
SLICE_SECONDS, while another thread waits for it, to stop at its next block
(Engine.end_slice: uc_emu_stop, exact while Unicorn checks for stops at
blocks' starts alone, else the preempt flag a block hook reads). With --seed the machine is
deterministic: user code runs for a counted number of instructions, slice
lengths and the next thread come from a seeded generator, among the threads
that can run, and a wake-up makes its sleeper runnable at once, so host
timing never decides the interleaving of threads that compute and use
futexes.
"""
import random
import threading
import time

from . import hostcpu, park, procstate

SLICE_SECONDS = 0.004
SLICE_INSNS = 40000         # --seed: instructions per slice (at most)
SLICE_SYSCALLS = 16         # --seed: system calls per slice (at most)
GROUP_EXIT_GRACE = 2.0
ALONE_SECONDS = 0.05        # one thread left this long: the host's CPU mask back (kernel.hostcpu)


class ThreadKilled(BaseException):
    """This thread is gone (the group is exiting, or execve from another
    thread): unwound through any kernel code up to the thread's run loop.
    A BaseException, so no handler's `except Exception` can swallow it."""


class CpuLock:
    """Who runs on the process's CPU, and who is next."""

    def __init__(self, machine, proc, owner):
        self.machine = machine
        self.proc = proc
        self.mutex = threading.Lock()
        self._deferred = []          # park locks to release once the mutex is let go
        self.cond = threading.Condition(self.mutex)    # thread ends, for the waits on them
        self.owner = owner           # the Task holding the CPU
        self.queue = []              # tasks waiting for the CPU, oldest first
        self.det = machine.seed is not None
        self.rng = random.Random(f"sysgate-threads-{machine.seed}")
        self.ready = set()           # --seed: tasks that can run (not sleeping)
        self.chosen = None           # --seed: who takes the CPU next
        self.since = time.monotonic()
        self.in_user = False
        self.syscalls = 0
        self.closed = False
        self.alone_since = None      # when the process got down to one thread
        if not self.det:
            threading.Thread(target=self._preempter, name="sysgate-slices",
                             daemon=True).start()

    # --- taking and giving the CPU ---------------------------------------
    # One mutex; each thread parks on a futex word of its own, so a release
    # wakes exactly the thread that may take the CPU next. The wake-ups are
    # issued after the mutex is let go, and outside the GIL (a ctypes call
    # drops it): the woken thread finds the mutex and the GIL free instead
    # of waking only to wait for them while the waker, preempted by its
    # wakee, still holds them.
    # The hot paths (sleep, wake, a hand-off) take the mutex by hand and
    # let it go through _unlock, and test who is next inline: a futex
    # hand-off is counted in Python calls.
    def _unpark(self, t):
        """Wake t out of _park (mutex held; issued when it is let go)."""
        if not t.cpu_token:
            t.cpu_token = True
            self._deferred.append(park.word(t) if t.cpu_cv is None else t.cpu_cv)

    def _unlock(self):
        """Let go of the mutex, then issue the unparks made while it was held."""
        todo = self._deferred
        if todo:
            self._deferred = []
            self.mutex.release()
            park.wake(todo)
        else:
            self.mutex.release()

    def _locked(self):
        """`with`: the mutex, with the unparks made inside issued on leaving."""
        return _Locked(self)

    def _park(self, t, timeout=None):
        """Wait (mutex held, let go meanwhile) for an unpark of t or the
        timeout (seconds); a wake-up may be spurious."""
        w = park.word(t) if t.cpu_cv is None else t.cpu_cv
        todo = self._deferred
        if todo:
            self._deferred = []
        self.mutex.release()
        try:
            park.wake_and_wait(todo, w, timeout)
        finally:
            self.mutex.acquire()
        if t.cpu_token:
            if not w.value:
                # An unpark raced the timeout: its wake is on its way.
                self.mutex.release()
                try:
                    while not w.value:
                        park.wait(w, None)
                finally:
                    self.mutex.acquire()
            w.value = 0
            t.cpu_token = False

    def _next(self):
        if self.det and self.chosen is not None:
            return self.chosen
        return self.queue[0] if self.queue else None

    def _notify_next(self):
        if self.owner is None:
            nxt = self._next()
            if nxt is not None:
                self._unpark(nxt)

    def _notify_everyone(self):
        for o in set(self.proc.threads.values()) | set(self.queue):
            self._unpark(o)
        self.cond.notify_all()

    def _take_locked(self, t, queued=False):
        if not queued:
            self.queue.append(t)
        self.ready.add(t)
        while True:     # may t take the CPU now?
            if (self.proc.group_exit is not None or t.killed) and t.exit_status is None:
                self.queue.remove(t)
                self.ready.discard(t)
                if self.chosen is t:
                    self.chosen = None
                self._notify_next()
                raise ThreadKilled()
            if self.owner is None:
                if self.det and self.chosen is not None:
                    if self.chosen is t:
                        break
                elif self.queue[0] is t:
                    break
            self._park(t)
        self.queue.remove(t)
        self.ready.discard(t)
        self.owner, self.chosen = t, None
        self.since = time.monotonic()
        self.syscalls = 0

    def _ready_in_order(self):
        """--seed: the tasks that can run, in the order their threads were
        made (proc.threads keeps it). Sorted by tid they were not, once the
        host's tids wrapped around pid_max between two of them, and the
        seed's interleaving changed."""
        return [o for o in self.proc.threads.values() if o in self.ready] or \
            sorted(self.ready, key=lambda x: x.tid)

    def _release_locked(self, t, ready):
        """t gives up the CPU; ready: it can run again at once."""
        self.owner = None
        t.gate_regs = self.machine.gate.current
        if ready:
            self.ready.add(t)
        else:
            self.ready.discard(t)
        if self.det:
            if self.ready:
                self.chosen = self.rng.choice(self._ready_in_order())
            self._notify_next()
        elif self.queue:
            nxt = self.queue[0]
            if not nxt.cpu_token:       # _unpark, inline
                nxt.cpu_token = True
                self._deferred.append(park.word(nxt) if nxt.cpu_cv is None else nxt.cpu_cv)

    def acquire(self, t):
        self.mutex.acquire()
        try:
            self._take_locked(t)
        finally:
            self._unlock()
        self.machine.switch_to(t)
        if (self.proc.group_exit is not None or t.killed) and t.exit_status is None:
            raise ThreadKilled()

    def release(self, t, ready=False):
        self.mutex.acquire()
        try:
            self._release_locked(t, ready)
        finally:
            self._unlock()

    def slice_insns(self):
        """The next slice's length: with --seed, counted in instructions
        (from the seeded generator); else unbounded (the preempter ends it)."""
        if not self.det:
            return 0
        return self.rng.randint(SLICE_INSNS // 4, SLICE_INSNS)

    def want_switch(self, t, by_syscall=False):
        """True when t's slice is over and someone else could run. With
        --seed a slice ends after its instructions or SLICE_SYSCALLS calls."""
        if self.det:
            return bool(self.ready) and (not by_syscall or self.syscalls >= SLICE_SYSCALLS)
        return bool(self.queue) and time.monotonic() - self.since >= SLICE_SECONDS

    def yield_cpu(self, t, force=False):
        """A preemption point (sched_yield, the end of a slice)."""
        if not force and not self.want_switch(t):
            return
        with self._locked():
            if not (self.queue or self.ready):
                self.since = time.monotonic()
                return
            self._release_locked(t, True)
            if self.chosen is t:
                self.ready.discard(t)
                self.owner, self.chosen = t, None
                self.since = time.monotonic()
                self.syscalls = 0
                return
            self._take_locked(t)
        self.machine.switch_to(t)
        self._check_killed(t)

    def sleep(self, t, deadline=None):
        """Give up the CPU until wake(t), a signal or the group's end, or
        until deadline (time.monotonic seconds); True when woken."""
        self.mutex.acquire()
        try:
            self._release_locked(t, False)
            t.sleeping = True
            while not (t.wakeup or self.proc.group_exit is not None or t.killed):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._park(t, left)
            woken = t.wakeup
            t.wakeup = t.sleeping = False
            self._take_locked(t, queued=t in self.queue)
        finally:
            self._unlock()
        self.machine.switch_to(t)
        if (self.proc.group_exit is not None or t.killed) and t.exit_status is None:
            raise ThreadKilled()
        return woken

    def _queue_sleeper(self, t):
        """A sleeper that was woken waits for the CPU from now on."""
        t.wakeup = True
        if t.sleeping and t not in self.queue:
            self.queue.append(t)
            self.ready.add(t)
            if self.owner is None and self._next() is t:
                self._unpark(t)

    def wake(self, t):
        """Make a sleeper runnable (a futex wake, a signal); a thread in a
        host wait is kicked out of it (one asleep here needs no kick)."""
        self.mutex.acquire()
        try:
            sleeping = t.sleeping
            t.wakeup = True         # _queue_sleeper, inline
            if sleeping and t not in self.queue:
                self.queue.append(t)
                self.ready.add(t)
                if self.owner is None and self._next() is t:
                    self._unpark(t)
        finally:
            self._unlock()
        if not sleeping:
            kick = getattr(t.host, "kick", None)
            if kick is not None:
                kick()

    def poke_sleepers(self):
        """Something outside (a host signal) may concern any thread: every
        sleeper looks again."""
        with self._locked():
            for o in list(self.proc.threads.values()):
                if o.sleeping:
                    self._queue_sleeper(o)
                    self._unpark(o)

    def host_wait(self, t):
        """A context for a host wait: the CPU is free meanwhile."""
        return _Released(self, t)

    # --- ending ------------------------------------------------------------
    def _dying(self, t):
        return self.proc.group_exit is not None or getattr(t, "killed", False)

    def _check_killed(self, t):
        if self._dying(t) and t.exit_status is None:
            raise ThreadKilled()

    def kill_others(self, t):
        """Every thread but t is to end (exit_group, a fatal signal, execve)."""
        host = self.proc.host
        for o in list(self.proc.threads.values()):
            if o is not t:
                o.killed = True
                o.host.kick()
                if host is not None and hasattr(host, "poke_thread"):
                    host.poke_thread(o.tid)     # out of a blocking host call
        self._bump_host_futexes()
        with self._locked():
            self._notify_everyone()

    def _bump_host_futexes(self):
        host = self.proc.host
        if host is not None and hasattr(host, "_bump_signal_word"):
            host._bump_signal_word()

    def gone(self, t):
        """t has ended: it leaves the group and the CPU."""
        with self._locked():
            self.proc.threads.pop(t.tid, None)
            self.ready.discard(t)
            if self.owner is t:
                self.owner = None
                if self.det and self.ready:
                    self.chosen = self.rng.choice(self._ready_in_order())
                self._notify_next()
            if self.machine._loaded is t:
                self.machine._loaded = None
            self.cond.notify_all()
            if len(self.proc.threads) == 1:
                if self.det:        # no slice helper to wait for (see _preempter)
                    hostcpu.spread()
                else:
                    self.alone_since = time.monotonic()
        if self.proc.shared_pending:
            self.proc.retarget()
        if t.host is not self.proc.host:
            t.host.close()

    def wait_all_gone(self):
        """The process's first host thread waits for the others to end. A
        group that is exiting waits GROUP_EXIT_GRACE at most: a thread stuck
        in a host call no wake-up reaches dies with the host process."""
        give_up = None
        with self.cond:
            while self.proc.threads:
                if self.proc.group_exit is not None:
                    now = time.monotonic()
                    give_up = give_up or now + GROUP_EXIT_GRACE
                    if now >= give_up:
                        break
                self.cond.wait(0.1)
            self.closed = True

    # --- signals -------------------------------------------------------------
    def signal_thread(self, o):
        if o is not self.owner:
            self.wake(o)
        self._bump_host_futexes()

    # --- slices ----------------------------------------------------------------
    def _preempter(self):
        next_check = time.monotonic() + hostcpu.CHECK_SECONDS
        while not self.closed:
            time.sleep(SLICE_SECONDS)
            now = time.monotonic()
            if self.alone_since is not None and now - self.alone_since >= ALONE_SECONDS:
                with self.mutex:
                    if self.alone_since is not None and len(self.proc.threads) == 1:
                        hostcpu.spread()
                    self.alone_since = None
            elif now >= next_check:
                next_check = now + hostcpu.CHECK_SECONDS
                owner = self.owner
                with self.mutex:
                    hostcpu.check(len(self.proc.threads), owner.tid if owner else None)
            if (self.queue and self.in_user and self.owner is not None
                    and time.monotonic() - self.since >= SLICE_SECONDS):
                end = getattr(self.machine.cpu, "end_slice", None)
                if end is not None:
                    end()


class _Locked:
    __slots__ = ("lock",)

    def __init__(self, lock):
        self.lock = lock

    def __enter__(self):
        self.lock.mutex.acquire()

    def __exit__(self, *exc):
        lock = self.lock
        todo, lock._deferred = lock._deferred, []
        lock.mutex.release()
        if todo:
            park.wake(todo)
        return False

class _Released:
    __slots__ = ("lock", "t")

    def __init__(self, lock, t):
        self.lock, self.t = lock, t

    def __enter__(self):
        self.lock.release(self.t)
        t = self.t
        if t.tid == t.pid:
            procstate.block()

    def __exit__(self, *exc):
        t = self.t
        if t.tid == t.pid:
            procstate.unblock()
        self.lock.acquire(t)
        return False


class _Held:
    """The host wait of a process's only thread."""
    def __enter__(self):
        procstate.block()

    def __exit__(self, *exc):
        procstate.unblock()
        return False


HELD = _Held()


def host_wait(t):
    """Wrap a host wait: the CPU goes to the other threads meanwhile (a
    no-op while the process has one thread)."""
    lock = t.proc.cpu_sched
    if lock is None:
        return HELD
    return _Released(lock, t)
