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

The guest never sees any of this: its affinity is modelled
(kernel.info's sched_*affinity, kernel.cpunum).
"""
import ctypes
import os

from .hostlibc import libc

_original = None        # the mask this host process was given, once changed
pinned = False          # every host thread is on one CPU


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


def gather():
    """The process now has two threads: every host thread onto this CPU."""
    global _original, pinned
    if pinned or os.environ.get("SYSGATE_SPREAD_THREADS"):
        return
    try:
        mask = os.sched_getaffinity(0)
    except OSError:
        return
    if len(mask) < 2:
        return
    cpu = libc.sched_getcpu()
    if cpu not in mask:
        return
    if _original is None:
        _original = mask
        os.register_at_fork(after_in_child=_restore_in_child)
    _set_all({cpu})
    pinned = True


def spread():
    """The process is back to one thread: the host's mask again."""
    global pinned
    if pinned:
        pinned = False
        _set_all(_original)


libc.sched_getcpu.restype = ctypes.c_int
