"""PTRACE_ATTACH: a running guest learns that it is traced.

The tracer queues the tracee a host SIGTRAP whose si_code is NOTE_CODE
(rt_sigqueueinfo lets a sender choose a negative code, which no kernel
source uses); the tracee's signal helper takes it like any signal, and the
tracee, when it absorbs its host signals, takes the note instead of a
SIGTRAP: it connects to its tracer and answers whether it accepts (it
refuses when already traced), then makes SIGSTOP pending as Linux's
ptrace_attach sends it. The tracer waits for that answer, so ATTACH says
EPERM as Linux does for a task that is already traced."""
import ctypes
import errno as E
import os
import select
import struct
import time

from .. import sigpending
from ..errors import KernelError
from ..hostlibc import libc
from . import channel
from .consts import SIGSTOP, SIGTRAP

NOTE_CODE = sigpending.PTRACE_NOTE
NR_RT_SIGQUEUEINFO = 129
ANSWER_SECONDS = 5.0


def send_note(pid):
    info = ctypes.create_string_buffer(
        struct.pack("<iiiiiI", SIGTRAP, 0, NOTE_CODE, 0, os.getpid(), os.getuid()).ljust(128, b"\0"))
    if libc.syscall(NR_RT_SIGQUEUEINFO, pid, SIGTRAP, info) < 0:
        err = ctypes.get_errno()
        raise KernelError(E.ESRCH if err == E.ESRCH else E.EPERM)


def attach(t, tr, pid):
    """ptrace(PTRACE_ATTACH, pid) from tracer tr: 0, or EPERM when the
    tracee refuses (already traced) or never answers."""
    e = tr.tracees.get(pid)
    if e is not None and not e.gone:
        raise KernelError(E.EPERM)
    send_note(pid)
    deadline = time.monotonic() + ANSWER_SECONDS
    while time.monotonic() < deadline:
        tr.pump()
        e = tr.tracees.get(pid)
        if e is not None and e.answer is not None:
            if not e.answer:
                tr.forget(pid)
                raise KernelError(E.EPERM)
            return 0
        p = select.poll()
        for fd, ev in tr.polls():
            p.register(fd, ev)
        p.poll(20)
    raise KernelError(E.EPERM)


def take_note(t, hi):
    """A host signal from absorb_host_signals: True when it was an attach
    note (consumed here), False for an ordinary signal."""
    if hi.si_code != NOTE_CODE or hi.si_signo != SIGTRAP:
        return False
    tracer = hi.si_pid
    from .tracee import Tracee
    # Only a tracer of this session has a socket in its spool directory.
    sock = channel.connect(t.session, tracer, lambda: True)
    if sock is None:
        return True
    if t.debugger is not None:
        channel.send(sock, {"answer": False})
        sock.close()
        return True
    tracee = Tracee(t, tracer)
    tracee.sock = sock
    channel.send(sock, {"answer": True, "parent": os.getppid()})
    t.debugger = tracee
    from ..sigframe import siginfo
    t.add_pending(SIGSTOP, siginfo(SIGSTOP, 0, True, pid=tracer, uid=hi.si_uid))
    return True


sigpending.note_taker = take_note
