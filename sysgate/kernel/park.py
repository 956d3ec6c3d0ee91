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


# wake_and_wait's one-word case in machine code (x86-64 System V), so
# that the GIL is let go once for the wake and the wait together: with two
# ctypes calls the waker takes the GIL back between them, just as the
# thread it woke wants it, and the two pass it back and forth.
#   f(wake, wait, ts): if (wake) futex(wake, FUTEX_WAKE_PRIVATE, 1);
#                      if (!*wait) futex(wait, FUTEX_WAIT_PRIVATE, 0, ts)
_HANDOFF_CODE = bytes.fromhex(
    "4989f04989d14885ff7414b8ca000000be81000000ba010000004531d20f05"
    "418b0085c07514b8ca0000004c89c7be8000000031d24d89ca0f05c3")
_HANDOFF = []


def _handoff():
    if not _HANDOFF:
        import mmap
        page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        page.write(_HANDOFF_CODE)
        addr = ctypes.addressof(ctypes.c_char.from_buffer(page))
        fn = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p,
                              ctypes.c_void_p)(addr)
        _HANDOFF.extend((page, fn))
    return _HANDOFF[1]


def wake_and_wait(words, w, timeout):
    """wake(words), then wait(w, timeout), in one call that lets go of the
    GIL once when there is at most one word to wake."""
    ts = None
    if timeout is not None:
        timeout = max(timeout, 0.0)
        ts = ctypes.byref(_Timespec(int(timeout), int(timeout % 1 * 1e9)))
    if len(words) > 1:
        wake(words)
        words = ()
    if words:
        o = words[0]
        o.value = 1
        (_HANDOFF[1] if _HANDOFF else _handoff())(ctypes.addressof(o), ctypes.addressof(w), ts)
    elif not w.value:
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
