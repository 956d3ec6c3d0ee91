"""Which host CPUs a threaded guest process runs on: one.

A process's guest threads take turns on one emulated CPU (kernel.cpulock),
so at most one of their host threads computes at a time, and the GIL
serialises their Python besides. What host CPUs they are spread over
decides only what a hand-off costs: a futex wake-up of a host thread
parked on another CPU is an inter-processor interrupt, which under a
hypervisor costs tens of microseconds and is most of a guest hand-off
(measured: a futex ping-pong between two guest threads runs about 2x
faster pinned). So while a process has more than one thread, all of its
host threads are held on the CPU the process was on when it got its
second thread. Once it has been down to one thread for a while
(kernel.cpulock's slice helper decides: a program that starts and joins
one worker after another pays for this once), and in a forked child, its
host threads get the host's mask back, and the host's load balancer is
free again.

The CPU is not given for good: another program may come to load it.
Every CHECK_SECONDS kernel.cpulock's slice helper looks how much of that
CPU's time went to other processes (/proc/stat); past a quarter, this
process's threads get the whole mask back, the host moves them where
there is room, and the next check gathers them again on the CPU the
thread running guest code is on by then. (Its threads' own run-queue
waits say nothing: a thread woken on the same CPU waits for its waker.)

The guest never sees any of this: its affinity is modelled
(kernel.info's sched_*affinity, kernel.cpunum).
"""
import ctypes
import os

from .hostlibc import libc

CHECK_SECONDS = 0.5
CONTENDED = 0.25        # the share of the time spent waiting for the CPU that moves us

_original = None        # the mask this host process was given, once changed
pinned = False          # every host thread is on one CPU
_cpu = None             # the one CPU, while pinned
_last = None            # _others_on(_cpu) at the last check


def _set_all(mask):
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        tids = ["0"]
    for tid in tids:
        try:
            os.sched_setaffinity(int(tid), mask)
        except (OSError, ValueError):
            pass        # a thread just gone; a cpuset that refuses: no harm done


def _restore_in_child():
    global pinned
    pinned = False
    if _original is not None:
        try:
            os.sched_setaffinity(0, _original)
        except OSError:
            pass


def gather(tid=None):
    """Every host thread onto one CPU: this thread's (the process gets its
    second thread), or that of host thread tid (the one running guest
    code, when kernel.cpulock's check gathers them again)."""
    global _original, pinned, _last, _cpu
    if pinned or os.environ.get("SYSGATE_SPREAD_THREADS"):
        return
    try:
        mask = os.sched_getaffinity(0)
    except OSError:
        return
    if len(mask) < 2:
        return
    cpu = libc.sched_getcpu() if tid is None else _cpu_of(tid)
    if cpu not in mask:
        return
    if _original is None:
        _original = mask
        os.register_at_fork(after_in_child=_restore_in_child)
    _set_all({cpu})
    pinned, _cpu, _last = True, cpu, None


def host_mask():
    """The host CPUs sysgate was given: what the guest sees as its
    affinity, pinned or not."""
    return _original if _original is not None else os.sched_getaffinity(0)


def spread():
    """The process is back to one thread: the host's mask again."""
    global pinned
    if pinned:
        pinned = False
        _set_all(_original)


libc.sched_getcpu.restype = ctypes.c_int


def _cpu_of(tid):
    try:
        with open(f"/proc/self/task/{tid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[36])
    except (OSError, IndexError, ValueError):
        return None


def _others_on(cpu):
    """(CPU cpu's time so far, the part of it spent on others than this
    process), in seconds: others' time is its busy time (steal included,
    the hypervisor's) less this process's own, all of whose threads are
    on it."""
    try:
        with open("/proc/stat", "rb") as f:
            for line in f:
                if line.startswith(b"cpu%d " % cpu):
                    v = [int(x) for x in line.split()[1:9]]
                    break
            else:
                return None
    except (OSError, ValueError):
        return None
    hz = os.sysconf("SC_CLK_TCK")
    own = os.times()
    busy = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / hz - own.user - own.system
    return sum(v) / hz, busy


def check(threads, running_tid):
    """Every CHECK_SECONDS while the process has threads (threads: how
    many): off a CPU that others load, back on one when there is room."""
    global _last
    if threads < 2 or _original is None:
        return
    if not pinned:
        gather(running_tid)
        return
    got = _others_on(_cpu)
    last, _last = _last, got
    if got is not None and last is not None and got[0] > last[0] and \
            (got[1] - last[1]) / (got[0] - last[0]) > CONTENDED:
        spread()

