"""Signals from outside the machine: the host kernel's signals to this
sysgate process, which are the guest's signals from other guest processes
(each guest process is a sysgate process), from its children (SIGCHLD),
from a terminal (^C) or from whoever runs sysgate.

While the guest runs, every catchable signal is blocked on the host and a
helper thread takes them with sigwaitinfo, so nothing is lost and the
sender's siginfo survives. The helper watches a signalfd and takes a signal
only under a lock it holds until the signal is queued: collect, under the
same lock, then finds each signal either still on the host or queued, never
in between (a wait4 that returns a child's exit must have its SIGCHLD). The helper queues each signal for the task, wakes
a blocking call through a pipe, and stops user code that is computing (the
run loop turns the stop into a return from an interrupt). The stop is
repeated until the run loop has taken the queue: a stop can be lost when it
lands just as emulation is restarted.

A host call that may block (sched.host_call: a read on a tty, the open of a
FIFO) cannot watch the wake pipe; while one is in progress the helper also
pokes the host thread making it (each guest thread has its own) with POKE,
whose handler does nothing, so that the call fails with EINTR and the run
loop sees the signal. The poke too is repeated until the queue is taken:
one that lands just before the call starts is lost.

A signal another process sends to one thread (tgkill) stays pending on
that thread's host thread, where the helper's sigwaitinfo cannot take it.
While the process has threads the helper looks at each thread's own
pending set (SigPnd in /proc/self/task/TID/status) every THREAD_LOOK
seconds; a thread found with one is "kicked": it is woken as for any
signal from outside and takes its own signals itself (take_own), with the
sender's siginfo, as signals for itself alone.
"""
import ctypes
import os
import select
import signal
import struct
import threading

from ..abi.consts import (CLOCK_MONOTONIC, SA_NOCLDWAIT, SIGEV_THREAD_ID,
                          TIMER_ABSTIME)
from .deadline import RETRY_SECONDS, DeadlineWatch
from .helperthread import Helper
from .hostlibc import libc
from .hostsigcalls import (NR_RT_SIGACTION, NR_TGKILL, POKE, install_poke, own_pending,
                           take_now)
from .tables.unistd import NR_X86_64

# Faults of sysgate itself must still kill it; KILL and STOP cannot be caught.
NOT_FORWARDED = {signal.SIGKILL, signal.SIGSTOP, signal.SIGSEGV, signal.SIGBUS,
                 signal.SIGILL, signal.SIGFPE}
FORWARDED = frozenset(signal.valid_signals()) - NOT_FORWARDED
THREAD_LOOK, IDLE_LOOK = 0.01, 0.1
_FORWARDED_BITS = sum(1 << (s - 1) for s in FORWARDED)
(NR_TIMER_CREATE, NR_TIMER_SETTIME, NR_FUTEX, NR_SIGNALFD4) = (
    NR_X86_64[n] for n in ("timer_create", "timer_settime", "futex", "signalfd4"))
SFD_NONBLOCK_CLOEXEC = os.O_NONBLOCK | os.O_CLOEXEC
FUTEX_WAKE_PRIVATE = 1 | 128
# POKE is glibc's own SIGCANCEL, which sysgate's process never uses (no
# pthread_cancel): never a guest's signal (sigfillset leaves it out). So a
# guest's signal 32 (or 33, glibc's SIGSETXID) from another process is lost:
# it is not in FORWARDED, and a thread that takes it runs POKE's empty
# handler. Natively a glibc program cannot catch either (sigaction refuses
# them) and dies of it; a musl or raw-syscall program could catch it.
# Children sysgate forks for itself (probes): their SIGCHLD is not the guest's.
OWN_CHILDREN = set()


class HostSignals:
    def __init__(self, stop_cpu, stops_here=None):
        self.stop_cpu = stop_cpu
        # stops_here(info): True when a stop signal's default action can be
        # taken by this thread at once (see Machine._stops_here)
        self.stops_here = stops_here
        self.queue = []            # host siginfo objects, oldest first
        self.pending = False       # the queue may be non-empty (checked on every exit)
        self.thread = None
        self.closing = False
        self.wake_r = self.wake_w = -1
        self.saved_mask = None
        self.autoreap = False      # see reap_children
        self.callers = set()       # native tids of the host threads in a blocking host call
        self.main_tid = None
        self.can_poke = False
        self._poke_timers = {}     # native tid -> host timer id: pokes at a guest timer's deadline
        self._sigword = ctypes.c_uint32(0)
        self.deadlines = DeadlineWatch(stop_cpu, FORWARDED)
        self.thread_tids = None    # () -> the guest tids (host tids) while threaded
        self.kicked = set()        # tids with signals of their own to take (take_own)
        self._taking = threading.Lock()     # held from taking a host signal to queueing it
        self._sfd = -1

    def start(self):
        if self.thread is None and threading.current_thread() is threading.main_thread():
            self.saved_mask = signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
            self.main_tid = threading.get_native_id()
            self.can_poke = install_poke()
            self._spawn()
        self.deadlines.start()      # its thread comes with the first timer

    def _spawn(self):
        self.closing = False
        self.wake_r, self.wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        mask = ctypes.c_uint64(sum(1 << (s - 1) for s in FORWARDED))
        self._sfd = libc.syscall(NR_SIGNALFD4, -1, ctypes.byref(mask), 8, SFD_NONBLOCK_CLOEXEC)
        self._taking = threading.Lock()     # a fork may have copied it held
        self.thread = Helper(self._wait)

    def after_fork(self):
        """In a forked child: the helper thread did not survive the fork; the
        parent's queue is not the child's (fork clears pending signals)."""
        if self.thread is None:
            return
        for fd in (self.wake_r, self.wake_w, self._sfd):
            if fd >= 0:
                os.close(fd)
        self.queue, self.pending = [], False
        self.main_tid = threading.get_native_id()
        self.callers = set()            # only the forking thread lives on
        self.thread_tids, self.kicked = None, set()
        self._poke_timers = {}          # timers are not inherited
        self._spawn()
        self.deadlines.after_fork()

    def close(self):
        self.deadlines.close()
        if self.thread is None:
            return
        self.closing = True
        signal.pthread_kill(self.thread.ident, signal.SIGWINCH)
        self.thread.join()
        self.thread = None
        for fd in (self.wake_r, self.wake_w, self._sfd):
            if fd >= 0:
                os.close(fd)
        self._sfd = -1
        signal.pthread_sigmask(signal.SIG_SETMASK, self.saved_mask)

    def _wait(self):
        watch = None
        if self._sfd >= 0:
            watch = select.poll()
            watch.register(self._sfd, select.POLLIN)
        while True:
            # Until the run loop has taken the queue, keep stopping the CPU.
            tids = self.thread_tids
            # A process that is not threaded yet may become so while this
            # waits: it looks again after IDLE_LOOK at most.
            timeout = RETRY_SECONDS if self.pending else THREAD_LOOK if tids else IDLE_LOOK
            if watch is None:
                info = signal.sigtimedwait(FORWARDED, timeout)
                self._queue_one(info)
            else:
                ready = watch.poll(timeout * 1000)
                with self._taking:
                    self._queue_one(take_now(_FORWARDED_BITS) if ready else None)
            if self.closing:
                return
            if tids is not None and self._look_at_threads(tids):
                self.pending = True
                self._bump_signal_word()
            if self.pending:
                self.stop_cpu()
                for tid in list(self.callers):
                    self.poke_thread(tid)

    def _queue_one(self, info):
        if self.closing or info is None:
            return
        if info.si_signo not in FORWARDED:
            # CPython 3.11's sigtimedwait, interrupted (EINTR: a stop and
            # continue of this process) past its deadline, returns an
            # unfilled siginfo instead of None (LTP waitpid08)
            return
        if self.stops_here is not None and self.stops_here(info):
            self._stop_here(info.si_signo)
            return
        self.queue.append(info)
        self.pending = True
        try:
            os.write(self.wake_w, b"!")
        except BlockingIOError:
            pass
        self._bump_signal_word()

    def _look_at_threads(self, tids):
        """Kick each thread with a forwarded signal pending for itself
        alone; True when one was found."""
        found = False
        for tid in tids():
            if tid not in self.kicked and own_pending(tid) & _FORWARDED_BITS:
                self.kicked.add(tid)
                found = True
        return found

    def take_own(self, tid):
        """In host thread tid: the host siginfo of each signal pending for
        this thread alone, taken off the host (a thread's own queue is
        dequeued before the process's, as dequeue_signal does)."""
        self.kicked.discard(tid)
        out = []
        bits = own_pending("thread-self") & _FORWARDED_BITS
        while bits:
            low = bits & -bits
            bits &= ~low
            info = take_now(low)
            if info is not None:
                out.append(info)
        return out

    # --- blocking host calls (sched.host_call) --------------------------------
    def enter_call(self):
        self.callers.add(threading.get_native_id())

    def leave_call(self):
        self.callers.discard(threading.get_native_id())

    @property
    def in_call(self):
        return bool(self.callers)

    def poke_thread(self, tid):
        """End the blocking host call host thread tid is making, if any."""
        if self.can_poke and tid in self.callers:
            libc.syscall(NR_TGKILL, os.getpid(), tid, POKE)

    def poke_at(self, deadline):
        """Poke the calling host thread at CLOCK_MONOTONIC deadline (ns;
        None: never), so that a guest timer ends its blocking host call.
        False when that cannot be arranged."""
        if not self.can_poke:
            return False
        me = threading.get_native_id()
        timer = self._poke_timers.get(me)
        if timer is None:
            if deadline is None:
                return True
            # struct sigevent: value, signo, notify = SIGEV_THREAD_ID, tid
            ev = struct.pack("<QiiI", 0, POKE, SIGEV_THREAD_ID, me).ljust(64, b"\0")
            tid = ctypes.c_int(0)
            if libc.syscall(NR_TIMER_CREATE, CLOCK_MONOTONIC, ev, ctypes.byref(tid)) != 0:
                return False
            timer = self._poke_timers[me] = tid.value
        sec, ns = divmod(deadline, 10**9) if deadline is not None else (0, 0)
        spec = (ctypes.c_long * 4)(0, 0, min(max(sec, 0), 2**62), ns)
        return libc.syscall(NR_TIMER_SETTIME, timer, TIMER_ABSTIME, spec, None) == 0

    # A word a host futex wait can watch besides its own (futex_waitv): the
    # helper bumps it and wakes it for every signal it queues.
    def signal_seq(self):
        return self._sigword.value

    def signal_word_addr(self):
        return ctypes.addressof(self._sigword)

    def _bump_signal_word(self):
        self._sigword.value = (self._sigword.value + 1) & 0xFFFFFFFF
        libc.syscall(NR_FUTEX, ctypes.c_void_p(self.signal_word_addr()),
                        FUTEX_WAKE_PRIVATE, 0x7FFFFFFF, None, None, 0)

    def collect(self):
        """Take the signals the host holds for us now, without waiting for
        the helper thread: a disposition about to change must judge the
        signals that arrived under the old one."""
        if self.thread is None:
            return
        with self._taking:
            while True:
                info = take_now(_FORWARDED_BITS)
                if info is None or info.si_signo not in FORWARDED:
                    return
                self.queue.append(info)
                self.pending = True

    def take(self):
        """The queued signals (host siginfo objects), oldest first."""
        self.pending = False
        try:
            os.read(self.wake_r, 4096)
        except BlockingIOError:
            pass
        out, self.queue = self.queue, []
        return out

    # --- self-inflicted host actions ------------------------------------------
    def reap_children(self, auto):
        """Let the host reap this process's children itself (auto), as
        Linux does for a guest whose SIGCHLD is ignored or has SA_NOCLDWAIT:
        then no zombie is left and wait, once every child is gone, fails with
        ECHILD, here as there. The host action is SIG_DFL with SA_NOCLDWAIT,
        which still sends SIGCHLD (blocked here, taken by the helper), so a
        guest handler installed with SA_NOCLDWAIT still runs."""
        if auto == self.autoreap:
            return
        act = (ctypes.c_ulong * 4)(0, SA_NOCLDWAIT if auto else 0, 0, 0)   # SIG_DFL
        if libc.syscall(NR_RT_SIGACTION, signal.SIGCHLD, act, None, 8) == 0:
            self.autoreap = auto

    @staticmethod
    def _stop_here(signo):
        """The default action of a stop signal taken by this helper thread:
        the host stops the whole process with that signal (the guest's
        parent sees WSTOPSIG = signo) wherever user code is, and SIGCONT
        lets it go on."""
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signo})
        try:
            signal.pthread_kill(threading.get_ident(), signo)
        finally:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signo})

    def stop_self(self, signo):
        """The default action of a stop signal: stop this host process with
        that very signal, so the guest parent's wait sees WSTOPSIG = signo;
        the host's SIGCONT resumes it."""
        if signo == signal.SIGSTOP:     # no action or mask to set aside: it always stops
            signal.pthread_kill(threading.main_thread().ident, signo)
            return
        old = signal.signal(signo, signal.SIG_DFL)
        try:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signo})
            signal.pthread_kill(threading.main_thread().ident, signo)
        finally:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signo})
            signal.signal(signo, old)
