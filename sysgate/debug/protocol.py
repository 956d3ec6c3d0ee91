"""The words of gdb's remote protocol both sides share: signal numbers as
gdb counts them, why a target stopped and how gdb resumes it, and the
hex arguments of packets."""

# Linux x86 signal number -> gdb's (include/gdb/signals.def).
_LINUX_TO_GDB = {
    1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 10, 8: 8, 9: 9, 10: 30, 11: 11, 12: 31,
    13: 13, 14: 14, 15: 15, 16: 143, 17: 20, 18: 19, 19: 17, 20: 18, 21: 21, 22: 22,
    23: 16, 24: 24, 25: 25, 26: 26, 27: 27, 28: 28, 29: 23, 30: 32, 31: 12, 32: 77,
}
_LINUX_TO_GDB.update({n: 45 + n - 33 for n in range(33, 64)})
_LINUX_TO_GDB[64] = 78
_GDB_TO_LINUX = {g: n for n, g in _LINUX_TO_GDB.items() if g != 143}
SIGTRAP, SIGKILL = 5, 9
PACKET_SIZE = 0x4000
E_FAULT, E_INVAL = b"E0e", b"E16"


def to_gdb_signal(signo):
    return _LINUX_TO_GDB.get(signo, 143)


def from_gdb_signal(gsig):
    return _GDB_TO_LINUX.get(gsig, 0)


class Stop:
    """Why the target stopped: a Linux signal number and gdb's stop-reason
    pairs (swbreak, watch, syscall_entry, ...)."""

    def __init__(self, signo, *reasons):
        self.signo = signo
        self.reasons = list(reasons)

    def __repr__(self):
        return f"Stop({self.signo}, {self.reasons})"


class Resume:
    """What gdb asked for: action is 'continue', 'step', 'kill' or 'detach';
    signo (Linux) is the signal to deliver on the way, 0 for none."""

    def __init__(self, action, signo=0):
        self.action, self.signo = action, signo

    def __repr__(self):
        return f"Resume({self.action!r}, {self.signo})"


class Malformed(Exception):
    pass


def _hexint(text):
    try:
        return int(text, 16)
    except ValueError:
        raise Malformed(text) from None


def _addr_len(text):
    a, sep, n = text.partition(",")
    if not sep:
        raise Malformed(text)
    return _hexint(a), _hexint(n)


def _xfer_slice(data, spec):
    off, length = _addr_len(spec)
    chunk = data[off:off + length]
    return (b"m" if off + length < len(data) else b"l") + chunk
