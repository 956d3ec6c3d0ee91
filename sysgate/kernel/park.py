"""Parking words: host futexes a thread waits on for the CPU, waited on
and woken outside the GIL (a ctypes call drops it), so the woken thread
finds the GIL free instead of waking only to wait for it."""
import ctypes

from .hostlibc import libc

_NR_FUTEX, _WAIT_PRIVATE, _WAKE_PRIVATE = 202, 128, 129
_futex = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_int,
                          ctypes.c_uint, ctypes.c_void_p)(("syscall", libc))


class _Timespec(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]


def word(t):
    w = t.cpu_cv
    if w is None:
        w = t.cpu_cv = ctypes.c_uint32(0)
    return w


def wake(words):
    for w in words:
        w.value = 1
        _futex(_NR_FUTEX, ctypes.addressof(w), _WAKE_PRIVATE, 1, None)


def wake_and_wait(words, w, timeout):
    """wake(words), then wait(w, timeout): one call on a hand-off."""
    for o in words:
        o.value = 1
        _futex(_NR_FUTEX, ctypes.addressof(o), _WAKE_PRIVATE, 1, None)
    if w.value:
        return
    ts = None
    if timeout is not None:
        timeout = max(timeout, 0.0)
        ts = ctypes.byref(_Timespec(int(timeout), int(timeout % 1 * 1e9)))
    _futex(_NR_FUTEX, ctypes.addressof(w), _WAIT_PRIVATE, 0, ts)


def wait(w, timeout):
    """Until w is set, or timeout seconds (None: no limit) pass; may end
    early (a host signal)."""
    if w.value:
        return
    ts = None
    if timeout is not None:
        timeout = max(timeout, 0.0)
        ts = ctypes.byref(_Timespec(int(timeout), int(timeout % 1 * 1e9)))
    _futex(_NR_FUTEX, ctypes.addressof(w), _WAIT_PRIVATE, 0, ts)
