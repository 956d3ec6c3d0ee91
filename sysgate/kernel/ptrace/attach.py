"""PTRACE_ATTACH and PTRACE_SEIZE: a running guest learns that it is traced;
and take_note, which takes in the notes (notes.py) tracers and tracees send
each other as host signals.

The tracer queues the tracee a host NOTE_SIG whose si_code is NOTE_CODE
(rt_sigqueueinfo lets a sender choose a negative code, which no kernel
source uses) and whose si_status says what it asks: attach, seize (with
its options) or interrupt. The tracee's signal helper takes it like any
signal, and the tracee, when it absorbs its host signals, takes the note
instead of a signal: it connects to its tracer and answers whether it
accepts (it refuses when already traced); ATTACH then makes SIGSTOP pending
as Linux's ptrace_attach sends it, SEIZE does not. The tracer waits for that
answer, so ATTACH says EPERM as Linux does for a task that is already traced.

A process stopped on the host (a stop signal's default action) cannot take
a note: the tracer continues it with a SIGCONT carrying NOTE_CODE, which the
tracee drops, and the tracee, told it was stopped, traps into the group-stop
at once, as ptrace_attach's JOBCTL_TRAP_STOP makes Linux's do.

A tracee's SIGCHLD to its tracer (do_notify_parent_cldstop) is a note too,
whose si_status carries the CLD_* code and the status: made the tracer's
SIGCHLD with that code here."""
import errno as E
import os
import select
import struct
import time

from .. import sigpending
from ..errors import KernelError
from . import channel
from .consts import SIGCHLD, SIGSTOP
from .notes import (CHLD_BIT, CLD_CONTINUED, CLD_STOPPED, INTERRUPT_BIT, NOTE_CODE, NOTE_SIG, OPTIONS_BITS,
                    RELAY_BIT, SEIZE_BIT, SIGCONT, SIGNAL_BIT, STOPPED_BIT, _queue, host_stopped,
                    note_tid, relay_note, saw, send_note, wake)

ANSWER_SECONDS = 5.0


def stop_note(t, pid, tid=0):
    """kill(pid, SIGSTOP) (tid 0) or tgkill/tkill(tid, SIGSTOP) from the
    tracer of pid or tid: sent as a note, so that the tracee sees SIGSTOP
    come (a host SIGSTOP would stop the whole process on the host, behind
    its tracer's back). False when neither is our tracee."""
    from . import tracer as tracing
    tr = tracing.get(t, make=False)
    e = None
    if tr is not None:
        tr.pump()
        e = tr.tracees.get(tid or pid)
    if e is None or e.gone or e.answer is False:
        # Not ours: a tracee of another tracer of the session is marked so.
        if not os.path.exists(channel.traced_mark(t.session, pid)):
            return False
    return _queue(pid, NOTE_SIG, SIGNAL_BIT | SIGSTOP, os.getpid(), tid) == 0


def attach(t, tr, pid, seize=False, options=0):
    """ptrace(PTRACE_ATTACH or PTRACE_SEIZE, pid) from tracer tr: 0, or EPERM
    when the tracee refuses (already traced) or never answers."""
    e = tr.tracees.get(pid)
    if e is not None and not e.gone:
        raise KernelError(E.EPERM)
    stopped = host_stopped(pid)
    what = (SEIZE_BIT | options if seize else 0) | (STOPPED_BIT if stopped else 0)
    send_note(pid, what, pid)
    if stopped:
        _woken.add(pid)
        wake(pid)
    deadline = time.monotonic() + ANSWER_SECONDS
    while time.monotonic() < deadline:
        tr.pump()
        e = tr.tracees.get(pid)
        if e is not None and e.answer is not None:
            if not e.answer:
                tr.forget(pid)
                raise KernelError(E.EPERM)
            # A stopped tracee is in its group-stop trap when this returns.
            if not (stopped and seize) or e.stop is not None or e.gone:
                e.seized, e.options = seize, options
                if stopped:
                    _drop_continued(t, pid)
                    _woken.discard(pid)
                return 0
        p = select.poll()
        for fd, ev in tr.polls():
            p.register(fd, ev)
        p.poll(20)
    raise KernelError(E.EPERM)


_woken = set()      # stopped tracees our SIGCONT woke: their CLD_CONTINUED is not Linux's


def _drop_continued(t, pid, absorb=True):
    """The host told us (its parent) that our SIGCONT continued pid: Linux's
    attach wakes a stopped tracee without CLD_CONTINUED."""
    if pid not in _woken or t.host is None:
        return
    if absorb:
        from ..sigpending import absorb_host_signals
        t.host.collect()
        absorb_host_signals(t)
    info = t.proc.shared_siginfo.get(SIGCHLD)
    if info is not None and t.proc.shared_pending & (1 << (SIGCHLD - 1)) and \
            struct.unpack_from("<iiiii", info)[2::2] == (CLD_CONTINUED, pid):
        t.take_pending(SIGCHLD)
        _woken.discard(pid)


def take_note(t, hi):
    """A host signal from absorb_host_signals: True when it was one of
    ptrace's notes (consumed here), False for an ordinary signal."""
    if hi.si_code != NOTE_CODE:
        return False
    what = getattr(hi, "si_status", 0) or 0
    if hi.si_signo == SIGCONT:
        return True         # the wake-up of a stopped tracee (attach)
    if hi.si_signo != NOTE_SIG:
        return False
    if what & CHLD_BIT:
        _tracer_sigchld(t, hi, what)
        return True
    tracer = hi.si_pid
    tid = note_tid(hi)
    target = t.proc.threads.get(tid or t.pid)
    if what & SIGNAL_BIT:
        from ..sigframe import siginfo
        sig = what & 0x7F
        if not tid:
            t.proc.raise_signal(sig, siginfo(sig, 0, True, pid=tracer, uid=hi.si_uid))
        elif target is not None:
            target.add_pending(sig, siginfo(sig, -6, True, pid=tracer, uid=hi.si_uid))
            _wake_thread(t, target)
        return True
    if target is None:
        return True
    from .tracee import Tracee
    cur = target.debugger
    if what & INTERRUPT_BIT:
        if isinstance(cur, Tracee) and cur.tracer == tracer and cur.seized:
            if what & RELAY_BIT and not cur.trap_pending:
                return True     # relayed, and taken on the way to user code already
            if target is t:
                cur.interrupt()
            elif cur.stopping:
                cur.interrupt()     # only notes it (in a stop, or listening)
            else:
                # Taken at its next way to user code, or, blocked in a
                # call (whose wait only we were woken from), by itself
                # there, as Linux's signal_wake_up interrupts the call.
                cur.trap_pending = True
                if relay_note(target.tid, what, tracer):
                    t.host.kicked.add(target.tid)
                _wake_thread(t, target)
        return True
    hi_taker, t = t, target
    # Only a tracer of this session has a socket in its spool directory.
    sock = channel.connect(t.session, tracer, lambda: True)
    if sock is None:
        return True
    if cur is not None:
        channel.send(sock, {"answer": False, "tid": t.tid})
        sock.close()
        return True
    seize = bool(what & SEIZE_BIT)
    tracee = Tracee(t, tracer, what & OPTIONS_BITS if seize else 0, seized=seize)
    tracee.sock = sock
    channel.send(sock, {"answer": True, "parent": os.getppid(), "tid": t.tid})
    t.debugger = tracee
    if not seize:
        from ..sigframe import siginfo
        t.add_pending(SIGSTOP, siginfo(SIGSTOP, 0, True, pid=tracer, uid=hi.si_uid))
        _wake_thread(hi_taker, t)
    elif what & STOPPED_BIT:
        # Its parent's wait took the group_exit_code (wait_task_stopped).
        tracee.group_stopped, tracee.group_sig = True, SIGSTOP
        tracee.interrupt()
    return True


def _wake_thread(t, target):
    """target, another thread of t's process, has something to act on."""
    lock = t.proc.cpu_sched
    if lock is not None and target is not t:
        lock.signal_thread(target)


def _tracer_sigchld(t, hi, what):
    """A tracee's SIGCHLD as Linux's tracer gets it (sigpending's rules for a
    child's SIGCHLD: ignored, SA_NOCLDSTOP, not queued twice)."""
    from ..sigframe import siginfo
    from ..sigpending import SA_NOCLDSTOP, SIG_DFL, ignored
    why, status = what >> 8 & 0xF, what & 0xFF
    saw(hi.si_pid, what >> 12 & 0x7F)
    _drop_continued(t, hi.si_pid, absorb=False)
    act = t.sigactions.get(SIGCHLD, (SIG_DFL, 0))
    if why in (4, CLD_STOPPED, CLD_CONTINUED) and act[1] & SA_NOCLDSTOP:
        return
    if ignored(t, SIGCHLD) or t.proc.shared_pending & (1 << (SIGCHLD - 1)):
        return
    t.proc.raise_signal(SIGCHLD, siginfo(SIGCHLD, why, True, pid=hi.si_pid, uid=hi.si_uid,
                                         status=status))


sigpending.note_taker = take_note
