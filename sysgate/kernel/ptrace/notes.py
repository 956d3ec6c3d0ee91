"""The notes between a tracer and its tracees that are host signals: a
tracer's (attach, seize, interrupt, its SIGSTOP for a tracee) and a
tracee's SIGCHLD for its tracer. Each is a realtime signal (they queue)
whose si_code is NOTE_CODE, which no kernel source uses and
rt_sigqueueinfo lets a sender choose; its si_status says what it is.
attach.take_note takes them in."""
import ctypes
import errno as E
import os
import struct

from .. import sigpending
from ..errors import KernelError
from ..hostlibc import libc

NOTE_CODE = sigpending.PTRACE_NOTE
NR_RT_SIGQUEUEINFO, NR_RT_TGSIGQUEUEINFO = 129, 297
SIGCONT = 18
# si_status of a tracer's note: what it asks, and SEIZE's options below.
SEIZE_BIT, INTERRUPT_BIT, STOPPED_BIT, SIGNAL_BIT, CHLD_BIT, RELAY_BIT = (
    1 << 30, 1 << 29, 1 << 28, 1 << 27, 1 << 26, 1 << 25)
# A tracer's notes are a realtime signal (they queue: an INTERRUPT right
# after a SEIZE is not merged into it), told apart by NOTE_CODE.
NOTE_SIG = 64
OPTIONS_BITS = (1 << 24) - 1
CLD_STOPPED, CLD_CONTINUED = 5, 6


TID_AT = 32     # the thread a note is for (0: the process), past si_status


def _queue(pid, sig, status, from_pid, tid=0, to_thread=False):
    info = ctypes.create_string_buffer(struct.pack(
        "<iiiiiIiii", sig, 0, NOTE_CODE, 0, from_pid, os.getuid(), status, 0,
        tid).ljust(128, b"\0"))
    r = libc.syscall(NR_RT_TGSIGQUEUEINFO, pid, tid, sig, info) if to_thread else \
        libc.syscall(NR_RT_SIGQUEUEINFO, pid, sig, info)
    if r < 0:
        return ctypes.get_errno()
    return 0


def relay_note(tid, what, tracer):
    """A tracer's note that another thread of this process took in, sent
    on to host thread tid, which takes it in itself (kernel.sigpending
    takes a thread's own signals when it is kicked): a thread blocked in a
    call must see it there, not only on its way to user code."""
    return _queue(os.getpid(), NOTE_SIG, what | RELAY_BIT, tracer, tid, to_thread=True) == 0


def note_tid(hi):
    """The thread a note names (0: none)."""
    raw = getattr(hi, "raw", b"")
    return struct.unpack_from("<i", raw, TID_AT)[0] if len(raw) >= TID_AT + 4 else 0


def send_note(pid, what=0, tid=0):
    """A note to the process of pid (a tid reaches its process too) about
    thread tid."""
    err = _queue(pid, NOTE_SIG, what, os.getpid(), tid)
    if err:
        raise KernelError(E.ESRCH if err == E.ESRCH else E.EPERM)


_sent = [0]
seen = {}       # tracee process's pid -> the numbers of its SIGCHLD notes taken here


def saw(pid, n):
    """SIGCHLD note n of process pid was taken in. Its threads number their
    notes with one counter, so they are kept as a set; the number half a
    cycle back is dropped (a note no wait looked for, CLD_CONTINUED)."""
    got = seen.setdefault(pid, set())
    got.add(n)
    got.discard((n - 65) % 127 + 1)


def notify_tracer(tracer, why, status):
    """do_notify_parent_cldstop for the tracer: SIGCHLD with code why.
    Returns the note's number (the tracer's wait waits for it to arrive,
    so that it is pending when the wait returns, as on Linux)."""
    _sent[0] = _sent[0] % 127 + 1
    _queue(tracer, NOTE_SIG, CHLD_BIT | _sent[0] << 12 | (why & 0xF) << 8 | (status & 0xFF),
           os.getpid())
    return _sent[0]


def host_stopped(pid):
    """Whether pid is stopped on the host (state T in /proc/<pid>/stat)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:][:1] == b"T"


def wake(pid):
    """Continue pid, stopped on the host, for a note it must take: the
    SIGCONT carries NOTE_CODE, so the tracee drops it."""
    _queue(pid, SIGCONT, 0, os.getpid())
