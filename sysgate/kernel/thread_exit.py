"""How a thread leaves its process: the robust futex list, the
clear_child_tid word (pthread_join waits on it), and de_thread for an
execve from a process with other threads (kernel/exit.c, kernel/futex,
fs/exec.c)."""
import struct
import time

from .errors import KernelError

FUTEX_WAITERS, FUTEX_OWNER_DIED, FUTEX_TID_MASK = 0x80000000, 0x40000000, 0x3FFFFFFF
ROBUST_LIST_LIMIT = 2048
DE_THREAD_SECONDS = 5.0


def _wake(t, uaddr):
    from . import futex
    try:
        futex.do_futex(t, uaddr, futex.FUTEX_WAKE, 1, 0, 0, 0, t.is64)
    except KernelError:
        pass


def _futex_death(t, uaddr, pending_op):
    """handle_futex_death: a lock word still naming the dead thread gets
    OWNER_DIED (keeping WAITERS), and one waiter is woken to find it."""
    if uaddr & 3:
        return
    try:
        val = struct.unpack("<I", t.mm.read(uaddr, 4))[0]
    except KernelError:
        return
    if pending_op and not val:
        _wake(t, uaddr)
        return
    if val & FUTEX_TID_MASK != t.tid:
        return
    try:
        t.mm.write(uaddr, struct.pack("<I", (val & FUTEX_WAITERS) | FUTEX_OWNER_DIED))
    except KernelError:
        return
    if val & FUTEX_WAITERS:
        _wake(t, uaddr)


def exit_robust_list(t):
    head, _size = t.robust_list
    if not head:
        return
    w = t.word
    fmt = "<Q" if w == 8 else "<I"
    sfmt = "<q" if w == 8 else "<i"

    def word(addr, f=fmt):
        return struct.unpack(f, t.mm.read(addr, w))[0]
    try:
        entry = word(head)
        offset = word(head + w, sfmt)
        pending = word(head + 2 * w)
    except KernelError:
        return
    mask = (1 << (8 * w)) - 1
    limit = ROBUST_LIST_LIMIT
    while entry & ~1 != head:
        try:
            nxt = word(entry & ~1)
        except KernelError:
            return
        if entry & ~1 != pending & ~1 and not entry & 1:
            _futex_death(t, ((entry & ~1) + offset) & mask, False)
        entry = nxt
        limit -= 1
        if not limit:
            break
    if pending and not pending & 1:
        _futex_death(t, ((pending & ~1) + offset) & mask, True)


def exit_mm_release(t):
    """At a thread's exit: its robust futexes, then its clear_child_tid
    (zeroed, and one waiter woken), as mm_release does."""
    exit_robust_list(t)
    if t.clear_child_tid:
        addr, t.clear_child_tid = t.clear_child_tid, 0
        try:
            t.mm.write(addr, b"\0\0\0\0")
        except KernelError:
            return
        _wake(t, addr)


def de_thread(t):
    """execve in a process with other threads: they end first, and the
    caller takes the group leader's pid as its tid."""
    proc = t.proc
    lock = proc.cpu_sched
    # A traced thread takes the CPU once more as it ends, for the stop its
    # tracer sees (PTRACE_EVENT_EXIT, its registers): the CPU is free
    # meanwhile. The others end without it: nothing of theirs runs again.
    traced = any(o.tracee is not None for o in proc.threads.values() if o is not t)
    lock.kill_others(t)
    deadline = time.monotonic() + DE_THREAD_SECONDS
    if traced:
        lock.release(t)
    try:
        with lock.cond:
            while len(proc.threads) > 1 and time.monotonic() < deadline:
                lock.cond.wait(0.05)
            for o in list(proc.threads.values()):
                if o is not t:      # stuck in a host call: gone for the guest
                    proc.threads.pop(o.tid, None)
    finally:
        if traced:
            lock.acquire(t)
    if t.tid != proc.pid:
        proc.threads.pop(t.tid, None)
        t.tid = proc.pid
        proc.threads[t.tid] = t
    proc.futex_queues.clear()
