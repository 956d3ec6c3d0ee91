"""Threads: one host thread per guest thread, sharing their process's CPU
(kernel.cpulock); a thread's own wake-up pipe; clone of a thread."""
import os
from operator import attrgetter

from . import hostcpu
from .cpulock import HELD, CpuLock, ThreadKilled, host_wait  # noqa: F401 (importers' names)
from .errors import KernelError
from .tls import set_tls
from ..abi.consts import CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID, CLONE_PARENT_SETTID, \
    CLONE_SETTLS


class ThreadHost:
    """A thread's view of kernel.hostsig: the process's signals from
    outside, and a wake-up pipe of its own for its host waits."""

    def __init__(self, host):
        self._host = host
        self.wake_r, self.wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self.piped = False           # the pipe may hold a byte (drain reads only then)

    # The process's, read through C (attrgetter): these are looked at on
    # every system call of a thread, and a Python property is a call.
    pending = property(attrgetter("_host.pending"))
    kicked = property(attrgetter("_host.kicked"))

    def __getattr__(self, name):
        return getattr(self._host, name)

    def kick(self):
        # The byte first, then the flag: a drain between the two finds the
        # flag down and leaves the byte for the next one (a wait may return
        # once for nothing); the other order let a drain take the flag down
        # before the byte came, and every wait after returned at once.
        try:
            os.write(self.wake_w, b"!")
        except OSError:
            pass
        self.piped = True

    def drain(self):
        if not self.piped:
            return
        self.piped = False
        try:
            os.read(self.wake_r, 4096)
        except OSError:
            pass

    def close(self):
        for fd in (self.wake_r, self.wake_w):
            try:
                os.close(fd)
            except OSError:
                pass


# --- clone: a new thread ---------------------------------------------------
def become_threaded(t):
    """The process gets its second thread: from now on its threads share
    the CPU through a CpuLock, and system calls are dispatched outside
    emu_start so that a handler may sleep."""
    proc = t.proc
    if proc.cpu_sched is not None:
        return proc.cpu_sched
    machine = t.machine
    proc.cpu_sched = CpuLock(machine, proc, t)
    machine._loaded = t
    machine.cpu.threaded()
    # The gate defers only the calls that may block (entry.threaded). This
    # clone runs in the engine's hook, in the run loop's one-thread run:
    # the CPU stops after it, so that the loop's threaded run (slices, the
    # preemption of a thread that computes) takes over at once, not at the
    # first call that leaves the CPU, which may never come.
    machine.cpu.defer = False
    machine.gate.threaded = True
    machine.cpu.stop()
    for o in proc.threads.values():
        if o.host is proc.host and proc.host is not None:
            o.host = ThreadHost(proc.host)
    if proc.host is not None and hasattr(proc.host, "thread_tids"):
        # Signals other processes send to one thread (kernel.hostsig).
        proc.host.thread_tids = lambda: list(proc.threads)
    # Events name the thread that holds the CPU from now on.
    proc.notify.publish("threaded", lambda: machine.task.tid)
    return proc.cpu_sched


def clone_thread(t, flags, newsp, ptid, ctid, tls):
    """clone with CLONE_THREAD: a new thread of t's process, which returns
    0 from the same call on its own stack (newsp) and TLS."""
    machine = t.machine
    regs = t.regs_at_exit(t.thread.read_regs())
    regs["rax"] = 0
    if newsp:
        regs["rsp"] = newsp
    child = t.new_thread()
    child.sigmask = t.sigmask
    child.thread = t.thread.spawn(regs)
    if flags & CLONE_SETTLS:
        set_tls(child, tls)
    lock = become_threaded(t)
    child.host = ThreadHost(t.proc.host) if t.proc.host is not None else None
    with lock.mutex:
        tid = machine.start_thread(child)
        child.tid = tid
        t.proc.threads[tid] = child
        lock.ready.add(child)
        lock.alone_since = None
        hostcpu.gather()
    if flags & CLONE_CHILD_CLEARTID:
        child.clear_child_tid = ctid
    try:
        if flags & CLONE_PARENT_SETTID:
            t.mm.write(ptid, tid.to_bytes(4, "little"))
        if flags & CLONE_CHILD_SETTID:
            t.mm.write(ctid, tid.to_bytes(4, "little"))
    except KernelError:
        pass        # Linux's put_user there fails silently too
    return tid
