"""Reads and writes that may wait: pipes, ttys, sockets and devices, where
a signal ends the wait (ERESTARTSYS) and a socket's timeout gives EAGAIN."""
import ctypes
import fcntl as _fcntl
import os
import select

from ...abi.consts import (F_GETFL, O_NONBLOCK, RWF_NOWAIT, SO_RCVTIMEO_OLD, SO_SNDTIMEO_OLD,
                           SOL_SOCKET, UIO_MAXIOV as IOV_MAX)
from ..errors import KernelError, E
from ..hostlibc import libc
from ..sched import deadline_after, host_call, now_ns, wait_event, wait_fd


def _nonblocking(h):
    return bool(_fcntl.fcntl(h, F_GETFL) & O_NONBLOCK)


# I/O chunk for one host call: large guest counts are served in pieces so a
# guest cannot make sysgate allocate gigabytes at once.
CHUNK = 1 << 20


def _until(h, write):
    """The deadline of a wait on h: a socket's SO_RCVTIMEO or SO_SNDTIMEO
    from now, after which a blocking call gives up with EAGAIN (None: no
    timeout, or no socket)."""
    tv = (ctypes.c_long * 2)()
    n = ctypes.c_uint32(ctypes.sizeof(tv))
    if libc.getsockopt(h, SOL_SOCKET, SO_SNDTIMEO_OLD if write else SO_RCVTIMEO_OLD, tv,
                       ctypes.byref(n)) < 0 or not (tv[0] or tv[1]):
        return None
    return deadline_after(tv[0] * 10**9 + tv[1] * 1000)


def _wait_ready(t, h, write, until):
    """Wait until h is ready (wait_fd); until is a deadline from _until,
    computed on the first wait ([None] before it), past which EAGAIN."""
    if not until:
        until.append(_until(h, write))
    if until[0] is None:
        return wait_fd(t, h, write)
    events = select.POLLOUT if write else select.POLLIN | select.POLLPRI
    while not wait_event(t, ((h, events),), deadline=until[0]):
        if now_ns() >= until[0]:
            raise KernelError(E.EAGAIN)


def read_waiting(t, f, n):
    """Up to n bytes from a pipe, tty, socket or device, as a blocking read
    waits: until data, or a signal (ERESTARTSYS). Pipes and sockets are
    read without blocking (RWF_NOWAIT: another process may drain them
    between a poll and a read) and waited for where a signal ends the wait;
    the rest block on the host where a signal pokes them out
    (sched.host_call)."""
    h = f.host
    buf = bytearray(n)
    until = []
    while True:
        try:
            got = os.preadv(h, [buf], -1, RWF_NOWAIT)
            return memoryview(buf)[:got]
        except BlockingIOError:
            if _nonblocking(h):
                raise KernelError(E.EAGAIN) from None
        except OSError as e:
            if e.errno != E.EOPNOTSUPP:
                raise
            break
        _wait_ready(t, h, False, until)
    cbuf = (ctypes.c_char * n).from_buffer(buf) if n else None
    got = host_call(t, libc.read, h, cbuf, ctypes.c_size_t(n))
    return memoryview(buf)[:got]


def write_waiting(t, f, data):
    """Write data (bytes, or a list of buffers: a writev's host views) to a
    pipe, tty, socket or device as a blocking write does: all of it, unless
    a signal comes first: then the count written, or the restart when none
    was (pipe_write's `ret ?: -ERESTARTSYS`)."""
    h = f.host
    bufs = [memoryview(b) for b in (data if isinstance(data, list) else [data])]
    total, done = sum(len(b) for b in bufs), 0
    until = []
    while True:
        try:
            done += os.pwritev(h, _rest(bufs, done)[:IOV_MAX], -1, RWF_NOWAIT)
            if done == total:
                return done
        except BlockingIOError:
            pass
        except OSError as e:
            if e.errno != E.EOPNOTSUPP:
                if done:
                    return done
                raise
            break
        if _nonblocking(h):
            if done:
                return done
            raise KernelError(E.EAGAIN)
        try:
            _wait_ready(t, h, True, until)
        except KernelError:
            if done:
                return done
            raise
    while True:
        # A tty or device: the host call blocks, a piece at a time (a
        # signal ends it between pieces, as the tty layer's write loop).
        chunk = b"".join(bytes(b) for b in _rest(bufs, done, CHUNK))
        try:
            done += host_call(t, libc.write, h, chunk, ctypes.c_size_t(len(chunk)))
        except (KernelError, OSError):
            if done:
                return done
            raise
        if done == total:
            return done


def _rest(bufs, skip, limit=None):
    """The buffers after the first skip bytes (at most limit bytes)."""
    out = []
    for b in bufs:
        if skip >= len(b):
            skip -= len(b)
            continue
        piece = b[skip:]
        skip = 0
        if limit is not None:
            piece = piece[:limit]
            limit -= len(piece)
        out.append(piece)
        if limit is not None and limit <= 0:
            break
    return out
