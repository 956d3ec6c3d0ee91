"""Clocks and sleeping, from the host clocks (the one source of guest time)."""
import time as _time

from ..abi.structs import LAYOUTS, read_struct, write_struct
from ..cpu.ucraw import HOST_MEMORY
from .errors import KernelError, E
from . import sched
from .registry import syscall
from .vma import PROT_EXEC, PROT_WRITE

# Clock ids Linux accepts (posix-timers.c); 10 is unused.
CLOCKS = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11}
TIMER_ABSTIME = 1
NSEC = 10**9


class TimeKeeper:
    """The guest's one source of time. With a vDSO, the clocks it serves are
    computed from the vvar page (TSC, mult/shift, bases) by the same integer
    arithmetic the vDSO code uses, so the system call and the vDSO agree and
    neither steps back across the other. The page is refreshed (a tick) at
    most every REFRESH_NS, continuing from its own previous values so that
    no clock steps. The coarse clocks (and time()) also advance with the
    TSC (F_COARSE_TSC) rather than only at ticks as in Linux: nothing
    interrupts user code to tick, and a program polling time() in a loop
    must still see it move. They stay at or behind the fine clocks."""
    REFRESH_NS = 4_000_000          # a 250 Hz tick, as coarse_res says

    def __init__(self, write_page=None, getcpu=0):
        self.write_page = write_page
        self.vvar = None
        self.last_refresh = 0
        if write_page is not None:
            from ..vdso import vvar
            self._vv = vvar
            self._rdtsc = vvar.rdtsc_quick()
            self.source = vvar.TscClock()
            self.vvar = self.source.snapshot(seq=0, flags=vvar.F_GETCPU | vvar.F_COARSE_TSC,
                                             cpu=getcpu)
            self.last_refresh = _time.clock_gettime_ns(_time.CLOCK_MONOTONIC)
            self._read = self.vvar.reader()
            write_page(self.vvar.pack())

    def refresh(self, force=False):
        if self.vvar is None:
            return
        now = _time.clock_gettime_ns(_time.CLOCK_MONOTONIC)
        if not force and now - self.last_refresh < self.REFRESH_NS:
            return
        self.last_refresh = now
        vv, old = self._vv, self.vvar
        new = old.advanced(vv.rdtsc(), seq=old.seq + 2)
        self.vvar = new
        self._read = new.reader()
        self.write_page(new.pack())

    def now(self, clk):
        return self.timespec(clk, True)

    def timespec(self, clk, as_ns=False):
        """clk now, (seconds, nanoseconds) (as_ns: in nanoseconds), from
        the page (read as the vDSO reads it) when it serves clk."""
        if self.vvar is not None:
            if _mono_ns() - self.last_refresh >= self.REFRESH_NS:
                self.refresh()
            r = self._read(clk, self._rdtsc())      # self.vvar.read, made once per page
            if r is not None:
                return r[0] * NSEC + r[1] if as_ns else r
        ns = _time.clock_gettime_ns({8: 0, 9: 7}.get(clk, clk))
        return ns if as_ns else divmod(ns, NSEC)


_mono_ns = _time.monotonic_ns     # CLOCK_MONOTONIC, as refresh reads it


def clock_ns(t, clk):
    if clk not in CLOCKS:
        raise KernelError(E.EINVAL)
    return t.timekeeper.now(clk)


def put_timespec(t, addr, ns, wide=False):
    """A struct timespec (wide: i386's 64-bit __kernel_timespec)."""
    write_struct(t, addr, "timespec64" if wide else "timespec", *divmod(ns, NSEC))


# abi -> struct timespec's Struct; i386's 64-bit one (the _time64 calls')
_TIMESPEC = {abi: LAYOUTS[abi]["timespec"].st for abi in ("x86_64", "i386")}
_TIMESPEC64 = LAYOUTS["i386"]["timespec64"].st
_TIMEVAL = {abi: LAYOUTS[abi]["timeval"].st for abi in ("x86_64", "i386")}
_HOST_END = HOST_MEMORY.nbytes if HOST_MEMORY is not None else 0


def _put_user(t, addr, st, a, b):
    """st.pack(a, b) stored at addr as mm.write stores it, and with its
    EFAULT; where the whole of it is host memory of one mapping the user
    may write, that is not code (whose translations a store must drop),
    and no vfork child's writes are being tracked, stored in place."""
    mm = t.mm
    v = mm.find(addr)
    end = addr + st.size
    if v is not None and end <= v.end and v.backed and v.ptr and v.prot & PROT_WRITE \
            and not v.prot & PROT_EXEC and mm.dirty is None and end <= mm.task_size \
            and v.ptr + (end - v.start) <= _HOST_END:
        st.pack_into(HOST_MEMORY, v.ptr + (addr - v.start), a, b)
    else:
        mm.write(addr, st.pack(a, b))


def get_timespec(t, addr, wide=False):
    sec, nsec = read_struct(t, addr, "timespec64" if wide else "timespec")
    if sec < 0 or not 0 <= nsec < NSEC:
        raise KernelError(E.EINVAL)
    return sec * NSEC + nsec


# The _time64 names are i386's calls with a 64-bit time_t.
@syscall("clock_gettime", "clock ptr")
@syscall("clock_gettime64", "clock ptr", wide=True)
def sys_clock_gettime(t, clk, tp, wide=False):
    if clk not in CLOCKS:
        raise KernelError(E.EINVAL)
    sec, nsec = t.timekeeper.timespec(clk)
    _put_user(t, tp, _TIMESPEC64 if wide else _TIMESPEC[t.abi], sec, nsec)
    return 0


@syscall("clock_getres", "clock ptr")
@syscall("clock_getres_time64", "clock ptr", wide=True)
def sys_clock_getres(t, clk, tp, wide=False):
    clock_ns(t, clk)
    if tp:
        coarse = clk in (5, 6)
        put_timespec(t, tp, 4_000_000 if coarse else 1, wide)
    return 0


@syscall("gettimeofday", "ptr ptr")
def sys_gettimeofday(t, tv, tz):
    if tv:
        sec, ns = t.timekeeper.timespec(0)
        _put_user(t, tv, _TIMEVAL[t.abi], sec, ns // 1000)
    if tz:
        write_struct(t, tz, "int2", 0, 0)
    return 0


@syscall("time", "ptr")
def sys_time(t, tloc):
    now = clock_ns(t, 5) // NSEC      # xtime seconds: REALTIME_COARSE, as the vDSO's time()
    if tloc:
        t.write_word(tloc, now)
    return now


@syscall("clock_nanosleep", "clock flags ptr ptr")
@syscall("clock_nanosleep_time64", "clock flags ptr ptr", wide=True)
@syscall("nanosleep", "ptr ptr", clk=1, flags=0)    # CLOCK_MONOTONIC, relative
def sys_clock_nanosleep(t, clk, flags, req, rem, wide=False):
    if clk not in CLOCKS or clk in (2, 3):
        raise KernelError(E.EINVAL if clk != 2 else E.EOPNOTSUPP)
    ns = get_timespec(t, req, wide)
    if flags & TIMER_ABSTIME:
        # Sleeping to an absolute time restarts as is after a handler.
        deadline = sched.deadline_after(max(0, ns - clock_ns(t, clk)))
        sched.sleep_until(t, deadline, sched.ERESTARTNOHAND)
        return 0
    return _sleep_rest(t, sched.deadline_after(ns), rem, wide)


def _sleep_rest(t, deadline, rem, wide):
    """Relative sleeps resume through restart_syscall with the time left,
    or report it in rem when a handler makes the call fail with EINTR."""
    try:
        sched.sleep_until(t, deadline, sched.ERESTART_RESTARTBLOCK)
    except KernelError:
        left = max(0, deadline - sched.now_ns())
        if rem:
            put_timespec(t, rem, left, wide)
        t.restart_block = lambda t2: _sleep_rest(t2, deadline, rem, wide)
        raise
    return 0
