"""Record locks (fcntl F_GETLK/F_SETLK/F_SETLKW and the open-file-
description forms): the host's own locks on the host file, so guest
processes (host processes) contend with each other and with the host's
programs as on Linux. Each ABI's struct flock is translated to the host's.

F_SETLKW waits where a signal can end it: the host is asked without
blocking and the wait is a sleep that a signal interrupts
(-ERESTARTSYS, as Linux's interruptible lock wait)."""
import errno
import fcntl
import struct

from ..errors import KernelError, E
from ..sched import ERESTARTSYS, now_ns, sleep_until

F_GETLK, F_SETLK, F_SETLKW = 5, 6, 7
F_GETLK64, F_SETLK64, F_SETLKW64 = 12, 13, 14        # i386's flock64 forms
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38
LOCK_CMDS = frozenset((F_GETLK, F_SETLK, F_SETLKW, F_GETLK64, F_SETLK64, F_SETLKW64,
                       F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW))
F_UNLCK = 2

HOST = struct.Struct("<hh4xqqi4x")     # x86-64 struct flock
FLOCK32 = struct.Struct("<hhiii")      # i386 struct flock
FLOCK64_32 = struct.Struct("<hhqqi")   # i386 struct flock64 (4-byte aligned)
RETRY_NS = 5_000_000


def _layout(t, cmd, wide):
    if t.is64:
        return HOST
    if cmd in (F_GETLK64, F_SETLK64, F_SETLKW64):
        return FLOCK64_32
    if cmd in (F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW):
        return FLOCK64_32 if wide else FLOCK32
    return FLOCK32


def do_lock(t, f, cmd, arg, wide):
    """fcntl's lock commands; wide: called as fcntl64 (i386)."""
    if not t.is64 and cmd in (F_GETLK64, F_SETLK64, F_SETLKW64) and not wide:
        raise KernelError(E.EINVAL)
    layout = _layout(t, cmd, wide)
    typ, whence, start, length, pid = layout.unpack(t.mm.read(arg, layout.size))
    host_cmd = {F_GETLK64: F_GETLK, F_SETLK64: F_SETLK, F_SETLKW64: F_SETLKW}.get(cmd, cmd)
    req = HOST.pack(typ, whence, start, length, pid)
    if host_cmd in (F_GETLK, F_OFD_GETLK):
        out = HOST.unpack(fcntl.fcntl(f.host, host_cmd, req))
        if layout is FLOCK32 and out[0] != F_UNLCK and (
                not -2**31 <= out[2] < 2**31 or not -2**31 <= out[3] < 2**31):
            raise KernelError(E.EOVERFLOW)
        t.mm.write(arg, layout.pack(*out))
        return 0
    if host_cmd in (F_SETLK, F_OFD_SETLK):
        fcntl.fcntl(f.host, host_cmd, req)
        return 0
    try_cmd = F_SETLK if host_cmd == F_SETLKW else F_OFD_SETLK
    while True:
        try:
            fcntl.fcntl(f.host, try_cmd, req)
            return 0
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                raise KernelError(e.errno) from None
        sleep_until(t, now_ns() + RETRY_NS, ERESTARTSYS)
