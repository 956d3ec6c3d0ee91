"""The tracer's half of ptrace: its listening socket, each tracee's
connection and last stop, and the wait4/waitid answers they add to the
host's (a ptrace-stop is `0x7f | code << 8`; a tracee that is not the
tracer's own child reports its exit here, since the host tells only its
parent).

A tracer is any guest process that called ptrace, wait4 or waitid: its
socket is made then, and a tracee that stops before that waits for it."""
import errno as E
import os
import select
import time
from types import SimpleNamespace

from ..errors import KernelError
from . import channel
from .consts import EVENT_CLONE, EVENT_FORK, EVENT_VFORK, SIGKILL

CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_TRAPPED = 1, 2, 3, 4
WNOWAIT = 0x1000000
P_ALL, P_PID, P_PGID = 0, 1, 2
_ZERO_RUSAGE = SimpleNamespace(ru_utime=0.0, ru_stime=0.0, **{f"ru_{n}": 0 for n in (
    "maxrss ixrss idrss isrss minflt majflt nswap inblock oublock msgsnd msgrcv nsignals "
    "nvcsw nivcsw").split()})


class Entry:
    """One tracee as its tracer knows it."""
    __slots__ = ("pid", "sock", "stop", "status", "gone", "child", "options", "debugreg",
                 "answer", "seized", "chld", "tgid")

    def __init__(self, pid, sock):
        self.pid, self.sock = pid, sock
        self.stop = None        # the last stop's message while it is stopped
        self.status = None      # a wait status not yet reported
        self.gone = False       # exited: only its status is left
        self.child = False      # the host reports its exit to us (we are its parent)
        self.options = 0
        self.debugreg = [0] * 8
        self.answer = None      # PTRACE_ATTACH: whether the tracee accepted
        self.seized = False     # PTRACE_SEIZE (or a seized tracee's child)
        self.chld = None        # the number of the SIGCHLD note of its last report
        self.tgid = pid         # its process (pid is the thread's tid)


class Tracer:
    def __init__(self, session):
        self.pid = os.getpid()
        self.listener = channel.listen(session)
        self.tracees = {}       # tid -> Entry: each thread is a tracee of its own
        self.fresh = []         # connections whose first message (naming the thread) is due

    def close(self):
        for s in [self.listener] + self.fresh + [e.sock for e in self.tracees.values() if e.sock]:
            s.close()
        self.tracees, self.fresh = {}, []

    def pump(self):
        """Take new connections and every message that is waiting."""
        while True:
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            sock.setblocking(True)
            self.fresh.append(sock)
        for sock in list(self.fresh):
            msg = channel.recv(sock, block=False)
            if msg is False:
                continue
            self.fresh.remove(sock)
            if msg is None:
                sock.close()
                continue
            tgid = channel.peer_pid(sock)
            tid = msg.get("tid") or tgid
            old = self.tracees.get(tid)
            if old is not None and old.sock is not None:
                old.sock.close()
            e = old
            if e is None:
                # A new child that connects before its parent's
                # PTRACE_EVENT_FORK (which would make its entry) is read:
                # how it is traced is its own word.
                e = Entry(tid, None)
                e.seized, e.options = bool(msg.get("seized")), msg.get("options", 0)
            e.sock, e.gone, e.tgid = sock, False, tgid
            self.tracees[tid] = e
            self._on(e, msg)
        for e in list(self.tracees.values()):
            while e.sock is not None:
                msg = channel.recv(e.sock, block=False)
                if msg is False:
                    break
                self._on(e, msg)

    def _on(self, e, msg):
        if msg is None:           # EOF: the tracee died (or detached)
            e.sock.close()
            e.sock, e.stop = None, None
            if e.child or e.gone:
                if not e.gone:
                    self.tracees.pop(e.pid, None)
            elif e.status is None:
                e.status, e.gone = SIGKILL, True      # killed before it could tell us
            return
        tid = msg.get("tid")
        if tid and tid != e.pid:
            self._renamed(e, tid)
        # The host reports the exit of a process to its parent; a thread's
        # (not its process's leader) only its tracer learns of, from here.
        child = msg.get("parent") == self.pid and e.pid == e.tgid
        if "answer" in msg:
            e.answer = bool(msg["answer"])
            e.child = child
            return
        if "stop" in msg:
            e.stop = msg
            e.debugreg = list(msg.get("dr") or e.debugreg)
            e.status = msg["stop"]
            e.child = child
            if (e.status >> 16) in (EVENT_FORK, EVENT_VFORK, EVENT_CLONE):
                # The new child is our tracee from birth, before it connects.
                new = msg.get("msg", 0)
                if new > 0 and new not in self.tracees:
                    child = self.tracees[new] = Entry(new, None)
                    child.seized, child.options = e.seized, e.options
        elif "exit" in msg:
            e.stop = None
            e.status, e.gone = msg["exit"], True
        e.chld = msg.get("chld")

    def _renamed(self, e, tid):
        """A thread that called execve took its leader's tid (de_thread):
        the leader is gone without a report, as Linux's tracer sees it."""
        old = self.tracees.pop(tid, None)
        if old is not None and old is not e and old.sock is not None:
            old.sock.close()
        self.tracees.pop(e.pid, None)
        e.pid = tid
        self.tracees[tid] = e

    def polls(self):
        out = [(self.listener.fileno(), select.POLLIN)]
        out += [(s.fileno(), select.POLLIN) for s in self.fresh]
        out += [(e.sock.fileno(), select.POLLIN) for e in self.tracees.values() if e.sock]
        return out

    def request(self, e, msg):
        """Send a request to a stopped tracee; its reply, or ESRCH if it died."""
        if e.sock is None or not channel.send(e.sock, msg):
            raise KernelError(E.ESRCH)
        reply = channel.recv(e.sock)
        if not reply:
            self._on(e, None)
            raise KernelError(E.ESRCH)
        if "err" in reply:
            raise KernelError(reply["err"])
        return reply

    def resume(self, e, msg):
        self.request(e, msg)
        e.stop = None
        e.status = None

    def matches(self, e, pid):
        if pid == -1:
            return True
        if pid > 0:
            return e.pid == pid
        try:
            pgrp = os.getpgid(e.pid)
        except OSError:
            return False
        return pgrp == (os.getpgrp() if pid == 0 else -pid)

    def take(self, t, pid, consume=True):
        """An unreported stop or exit of a tracee wait's pid selects."""
        self.pump()
        for e in list(self.tracees.values()):
            if e.status is not None and self.matches(e, pid):
                _await_sigchld(t, e)
                status = e.status
                if consume:
                    e.status = None
                    if e.gone:
                        self.tracees.pop(e.pid, None)
                return e.pid, status
        return None

    def stopped_thread(self, e):
        """e when it is stopped, else a stopped thread of its process (the
        threads share one memory, which a stopped one serves)."""
        if e.stop is not None:
            return e
        return next((o for o in self.tracees.values()
                     if o.tgid == e.tgid and o.stop is not None and o.sock is not None), None)

    def waiting_for(self, pid):
        return any(self.matches(e, pid) for e in self.tracees.values())

    def forget(self, pid):
        """The host reported the exit of pid, our child: no more stops."""
        e = self.tracees.pop(pid, None)
        if e is not None and e.sock is not None:
            e.sock.close()


NOTE_WAIT_SECONDS = 0.05


def _await_sigchld(t, e):
    """The SIGCHLD note the tracee sent after its report: taken before the
    wait returns, so it is pending then, as Linux sends it first. The note
    comes from the tracee's process (si_pid), not from the thread."""
    if e.chld is None or t.host is None:
        return
    from ..sigpending import absorb_host_signals
    from .notes import seen
    deadline = time.monotonic() + NOTE_WAIT_SECONDS
    got = seen.setdefault(e.tgid, set())
    while e.chld not in got and time.monotonic() < deadline:
        t.host.collect()
        absorb_host_signals(t)
        if e.chld not in got:
            time.sleep(0.0005)
    got.discard(e.chld)
    e.chld = None


_tracer = None


def get(t, make=True):
    """This process's Tracer (made at its first use); a forked child starts
    without its parent's."""
    global _tracer
    if _tracer is not None and _tracer.pid != os.getpid():
        _tracer.close()
        _tracer = None
    if _tracer is None and make:
        try:
            _tracer = Tracer(t.session)
        except OSError:
            return None
    return _tracer


def polls(t):
    tr = get(t, make=False)
    return tr.polls() if tr is not None else ()


def wait4(t, pid, options):
    """os.wait4 with the ptrace stops and the exits of traced non-children
    of this tracer merged in."""
    tr = get(t)
    if tr is not None:
        got = tr.take(t, pid)
        if got is not None:
            return got[0], got[1], _ZERO_RUSAGE
    try:
        got = os.wait4(pid, options)
    except ChildProcessError:
        if tr is not None and tr.waiting_for(pid):
            return 0, 0, None
        raise
    if got[0] and tr is not None and (os.WIFEXITED(got[1]) or os.WIFSIGNALED(got[1])):
        tr.forget(got[0])
    return got


def waitid(t, idtype, id_, options):
    """os.waitid likewise: a stop is CLD_TRAPPED with the stop's code."""
    tr = get(t) if idtype in (P_ALL, P_PID, P_PGID) else None
    if tr is not None:
        pid = -1 if idtype == P_ALL else id_ if idtype == P_PID else -id_
        got = tr.take(t, pid, consume=not options & WNOWAIT)
        if got is not None:
            p, status = got
            if status & 0xFF == 0x7F:
                code, st = CLD_TRAPPED, status >> 8
            elif status & 0x7F:
                code, st = (CLD_DUMPED if status & 0x80 else CLD_KILLED), status & 0x7F
            else:
                code, st = CLD_EXITED, status >> 8 & 0xFF
            return SimpleNamespace(si_pid=p, si_uid=os.getuid(), si_signo=17, si_status=st,
                                   si_code=code)
    try:
        r = os.waitid(idtype, id_, options)
    except ChildProcessError:
        if tr is not None and tr.waiting_for(pid):
            return None
        raise
    if r is not None and tr is not None and r.si_code in (CLD_EXITED, CLD_KILLED, CLD_DUMPED) \
            and not options & WNOWAIT:
        tr.forget(r.si_pid)
    return r


class RemoteMem:
    """/proc/<pid>/mem of a tracee, opened by its tracer (gdb reads memory
    only so): served over the channel while the tracee is stopped."""

    def __init__(self, pid):
        self.pid = pid

    def _entry(self):
        tr = _tracer
        if tr is None or tr.pid != os.getpid():
            raise KernelError(E.EIO)
        tr.pump()
        e = tr.tracees.get(self.pid)
        e = tr.stopped_thread(e) if e is not None else None
        if e is None:
            raise KernelError(E.EIO)
        return tr, e

    def read(self, addr, n):
        tr, e = self._entry()
        out = tr.request(e, {"op": "read", "addr": addr, "n": min(n, 1 << 16)})
        return bytes.fromhex(out["data"])

    def write(self, addr, data):
        tr, e = self._entry()
        data = data[:1 << 16]
        tr.request(e, {"op": "write", "addr": addr, "data": data.hex()})
        return len(data)


def remote_mem(t, pid):
    """A RemoteMem for pid when it is this process's tracee, else None."""
    tr = get(t, make=False)
    if tr is None:
        return None
    tr.pump()
    e = tr.tracees.get(pid)
    return RemoteMem(pid) if e is not None and not e.gone else None


def traced_thread(t, pid, rest):
    """Whether rest (a path under /proc/<pid>) starts task/<tid> for a
    thread of pid this process traces."""
    if len(rest) < 2 or rest[0] != "task" or not rest[1].isdigit():
        return False
    tr = get(t, make=False)
    if tr is None:
        return False
    tr.pump()
    e = tr.tracees.get(int(rest[1]))
    return e is not None and e.tgid == pid and not e.gone


def remote_file(t, pid, name):
    """/proc/<pid>/auxv or maps of a stopped tracee, for its tracer (gdb
    finds the vDSO there)."""
    tr, e = RemoteMem(pid)._entry()
    return bytes.fromhex(tr.request(e, {"op": name})["data"])
