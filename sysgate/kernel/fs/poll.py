"""I/O multiplexing: poll, ppoll, select, pselect6, as fs/select.c.

The guest's fds are host fds, so readiness is the host's own poll. The wait
is the kernel's usual one: a pending signal ends it (after one look at the
fds, as do_poll looks first), guest timers fire during it. An interrupted
poll with a timeout restarts to the same deadline (restart_syscall); select
and the p-variants give -ERESTARTNOHAND and write the time left back, as
poll_select_finish does. ppoll and pselect6 wait with the caller's mask
in place, restored at once unless a handler is about to run (then after
it, as sigsuspend's)."""
import struct

from .. import sched
from ..errors import KernelError, E
from ..registry import syscall
from ..time import get_timespec

POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL = 1, 2, 4, 8, 16, 32
POLLRDNORM, POLLRDBAND, POLLWRNORM, POLLWRBAND = 0x40, 0x80, 0x100, 0x200
ALWAYS = POLLERR | POLLHUP | POLLNVAL
# What counts as ready for each set of select (POLLIN_SET, POLLOUT_SET, POLLEX_SET).
IN_SET = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR
OUT_SET = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR
EX_SET = POLLPRI
NSEC = 10**9
RLIMIT_NOFILE = 7
POLLFD = struct.Struct("<ihh")


def _wait_ready(t, entries, deadline, restart):
    """entries: [(host fd, events)]. The revents of each, once one is
    non-zero or the deadline (CLOCK_MONOTONIC ns; None: none) has passed;
    raises restart when a signal interrupts first. The fds get one look
    before any signal may end the wait, as do_poll looks first."""
    wanted = {}
    for h, ev in entries:
        wanted[h] = wanted.get(h, 0) | ev
    polls = tuple(wanted.items())
    ready = sched.poll_now(t, polls)
    while True:
        got = dict(ready)
        out = [got.get(h, 0) & (ev | ALWAYS) for h, ev in entries]
        if any(out) or deadline is not None and sched.now_ns() >= deadline:
            return out
        ready = sched.wait_event(t, polls, restart, deadline=deadline)


def _host_fd(t, fd):
    f = t.files.fds.get(fd)
    return None if f is None else f.host


# --- poll and ppoll --------------------------------------------------------
def _poll(t, ufds, nfds, deadline, restart):
    from ..info import _limit
    if nfds > _limit(t, RLIMIT_NOFILE)[0]:
        raise KernelError(E.EINVAL)
    raw = t.mm.read(ufds, nfds * POLLFD.size) if nfds else b""
    fds = [POLLFD.unpack_from(raw, i * POLLFD.size) for i in range(nfds)]
    revents = [0] * nfds
    entries, where = [], []
    for i, (fd, events, _) in enumerate(fds):
        if fd < 0:
            continue
        h = _host_fd(t, fd)
        if h is None:
            revents[i] = POLLNVAL
            continue
        entries.append((h, events & 0xFFFF))
        where.append(i)
    if not any(revents):
        for i, rev in zip(where, _wait_ready(t, entries, deadline, restart)):
            revents[i] = rev
    else:
        # An invalid fd is an event already: one look at the others.
        for i, rev in zip(where, _wait_ready(t, entries, 0, restart)):
            revents[i] = rev
    out = b"".join(POLLFD.pack(fd, ev, rev & 0xFFFF) for (fd, ev, _), rev in zip(fds, revents))
    if out:
        t.mm.write(ufds, out)
    return sum(1 for r in revents if r)


def _restartable_poll(t, ufds, nfds, deadline):
    """poll with a deadline: an interruption continues through
    restart_syscall to the same deadline (do_restart_poll)."""
    try:
        return _poll(t, ufds, nfds, deadline, sched.ERESTART_RESTARTBLOCK)
    except KernelError as e:
        if e.errno == sched.ERESTART_RESTARTBLOCK:
            t.restart_block = lambda t2: _restartable_poll(t2, ufds, nfds, deadline)
        raise


@syscall("poll", "ptr uint int")
def sys_poll(t, ufds, nfds, timeout_ms):
    if timeout_ms < 0:
        return _poll(t, ufds, nfds, None, sched.ERESTARTNOHAND)
    return _restartable_poll(t, ufds, nfds, sched.deadline_after(timeout_ms * 1_000_000))


class MaskedWait:
    """The mask of ppoll/pselect6 for the wait; put back at once unless the
    call was interrupted (the signal's frame then carries the old one)."""

    def __init__(self, t, mask):
        self.t, self.mask = t, mask

    def __enter__(self):
        if self.mask is not None:
            from ..signal import UNBLOCKABLE
            self.t.saved_sigmask = self.t.sigmask
            self.t.sigmask = self.mask & ~UNBLOCKABLE

    def __exit__(self, kind, exc, tb):
        interrupted = kind is KernelError and exc.errno in (sched.ERESTARTNOHAND, E.EINTR)
        if self.mask is not None and not interrupted:
            self.t.sigmask, self.t.saved_sigmask = self.t.saved_sigmask, None
        return False


def read_sigmask(t, ptr, size):
    if not ptr:
        return None
    if size != 8:
        raise KernelError(E.EINVAL)
    return struct.unpack("<Q", t.mm.read(ptr, 8))[0]


def _timeout(t, ts_ptr, wide):
    """(deadline, whether the time left is written back) of a timespec
    argument: none when absent or zero (poll_select_finish skips those)."""
    if not ts_ptr:
        return None, False
    ns = get_timespec(t, ts_ptr, wide)
    return sched.deadline_after(ns), ns > 0


def _time_left(t, ts_ptr, deadline, wide, usec):
    """Write the time left back: False when the caller's timeout is not
    writable."""
    sec, ns = divmod(max(0, deadline - sched.now_ns()), NSEC)
    word, mask = ("Q", 2**64 - 1) if (t.is64 or wide) else ("I", 0xFFFFFFFF)
    try:
        t.mm.write(ts_ptr, struct.pack("<" + word * 2, sec & mask,
                                       ns // 1000 if usec else ns))
        return True
    except KernelError:
        return False


def _finish(t, ts_ptr, deadline, update, wide, usec, call):
    """call(), with the time left written back however it ends; where it
    cannot be, an interruption is final (EINTR), as the timeout could not
    carry the restart."""
    try:
        r = call()
    except KernelError as e:
        if update and not _time_left(t, ts_ptr, deadline, wide, usec) \
                and e.errno == sched.ERESTARTNOHAND:
            raise KernelError(E.EINTR) from None
        raise
    if update:
        _time_left(t, ts_ptr, deadline, wide, usec)
    return r


@syscall("ppoll", "ptr uint ptr ptr size", wide=False)
@syscall("ppoll_time64", "ptr uint ptr ptr size", wide=True)
def sys_ppoll(t, ufds, nfds, ts_ptr, mask_ptr, size, wide):
    deadline, update = _timeout(t, ts_ptr, wide)
    mask = read_sigmask(t, mask_ptr, size)
    with MaskedWait(t, mask):
        return _finish(t, ts_ptr, deadline, update, wide, False,
                       lambda: _poll(t, ufds, nfds, deadline, sched.ERESTARTNOHAND))


# --- select and pselect6 ----------------------------------------------------
def _select(t, n, inp, outp, exp, deadline):
    if n < 0:
        raise KernelError(E.EINVAL)
    n = min(n, _max_fds(t))
    word = t.word
    nbytes = (n + 8 * word - 1) // (8 * word) * word
    sets = []
    for ptr in (inp, outp, exp):
        bits = int.from_bytes(t.mm.read(ptr, nbytes), "little") if ptr and nbytes else 0
        sets.append(bits & ((1 << n) - 1))
    entries, fds = [], []
    for fd in range(n):
        ev = ((POLLIN if sets[0] >> fd & 1 else 0) | (POLLOUT if sets[1] >> fd & 1 else 0)
              | (POLLPRI if sets[2] >> fd & 1 else 0))
        if not ev:
            continue
        h = _host_fd(t, fd)
        if h is None:
            raise KernelError(E.EBADF)
        entries.append((h, ev))
        fds.append(fd)
    revents = _wait_ready(t, entries, deadline, sched.ERESTARTNOHAND)
    out = [0, 0, 0]
    count = 0
    for fd, (h, ev), rev in zip(fds, entries, revents):
        for i, (asked, ready) in enumerate(((POLLIN, IN_SET), (POLLOUT, OUT_SET),
                                            (POLLPRI, EX_SET))):
            if ev & asked and rev & ready:
                out[i] |= 1 << fd
                count += 1
    for ptr, bits in zip((inp, outp, exp), out):
        if ptr and nbytes:
            t.mm.write(ptr, bits.to_bytes(nbytes, "little"))
    return count


def _max_fds(t):
    """The size of the fd table, past which select ignores its bits: 64
    (BITS_PER_LONG) until an fd beyond it opens, then whole 128-entry
    pages in powers of two, as expand_fdtable grows it."""
    hi = max(t.files.fds, default=0)
    if hi < 64:
        return 64
    pages = 1
    while pages * 128 <= hi:
        pages *= 2
    return pages * 128


def _timeval(t, tv_ptr):
    if not tv_ptr:
        return None, False
    fmt = "<qq" if t.is64 else "<ii"
    sec, usec = struct.unpack(fmt, t.mm.read(tv_ptr, struct.calcsize(fmt)))
    # tv_usec carries into the seconds as C divides (toward zero), in the
    # kernel's 64-bit arithmetic, which wraps (kern_select).
    carry = abs(usec) // 1_000_000 * (1 if usec >= 0 else -1)
    sec = (sec + carry + 2**63) % 2**64 - 2**63
    nsec = (usec - carry * 1_000_000) * 1000
    if sec < 0 or not 0 <= nsec < NSEC:
        raise KernelError(E.EINVAL)
    ns = sec * NSEC + nsec
    return sched.deadline_after(ns), ns > 0


def _do_select(t, n, inp, outp, exp, tv):
    deadline, update = _timeval(t, tv)
    return _finish(t, tv, deadline, update, False, True,
                   lambda: _select(t, n, inp, outp, exp, deadline))


@syscall("select", "int ptr ptr ptr ptr")
def sys_select(t, n, inp, outp, exp, tv):
    return _do_select(t, n, inp, outp, exp, tv)


@syscall("_newselect", "int ptr ptr ptr ptr")
def sys_newselect(t, n, inp, outp, exp, tv):
    return _do_select(t, n, inp, outp, exp, tv)


@syscall("i386:select", "ptr")
def sys_old_select(t, args):
    """i386's select(2) number: one pointer to the five arguments."""
    n, inp, outp, exp, tv = struct.unpack("<iIIII", t.mm.read(args, 20))
    return _do_select(t, n, inp, outp, exp, tv)


@syscall("pselect6", "int ptr ptr ptr ptr ptr", wide=False)
@syscall("pselect6_time64", "int ptr ptr ptr ptr ptr", wide=True)
def sys_pselect6(t, n, inp, outp, exp, ts, sig, wide):
    deadline, update = _timeout(t, ts, wide)
    mask = None
    if sig:
        # { const sigset_t *ss; size_t ss_len; }
        fmt = "<QQ" if t.is64 else "<II"
        ss, ss_len = struct.unpack(fmt, t.mm.read(sig, struct.calcsize(fmt)))
        mask = read_sigmask(t, ss, ss_len)
    with MaskedWait(t, mask):
        return _finish(t, ts, deadline, update, wide, False,
                       lambda: _select(t, n, inp, outp, exp, deadline))
