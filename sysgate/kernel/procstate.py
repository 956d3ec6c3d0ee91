"""A guest process's run state (R or S) as another guest of its session
sees it in /proc/<pid>/stat and status.

The host process's own state is not the guest's: sysgate's main thread
also sleeps for its own reasons (starting a helper thread after a fork,
the GIL, the CPU lock of its threads), and a program that waits for its
child to sleep (LTP's TST_PROCESS_STATE_WAIT before it signals the child)
would then go on while the child has not reached its blocking call yet.
So each guest process keeps one byte in the session's spool
(kernel.fs.procspool), S while its first thread is in a host wait that a
blocking call made, R otherwise; kernel.fs.procinfo reads it."""
import mmap
import os

RUNNING, SLEEPING = ord("R"), ord("S")

_byte = None        # this process's shared byte, once published
_path = None
_adopted = None     # a forked child's byte, made by its parent, mapped when first written


def publish(path):
    """This process's state byte at path (at exec; in a forked child None,
    so that it does not keep writing its parent's); None: no byte."""
    global _byte, _path, _adopted
    adopted, _adopted = _adopted, None
    if path == _path and _byte is not None:
        return          # an exec: the same process, the same byte
    old, _byte, _path = _byte, None, None
    if old is not None:
        old.close()
    if path is None:
        return
    # A forked child's exec maps the byte its parent made (truncating and
    # growing it again cost some 40 us of CPU in /tmp's ext4).
    m = _map(path, False) if path == adopted else None
    if m is None:
        m = _map(path, True)
    if m is not None:
        m[0] = RUNNING
        _byte, _path = m, path


def create(path):
    """A forked child's byte, R, made by its parent (procspool.publish_child)."""
    try:
        # No O_TRUNC: the byte of an earlier process with this pid is
        # overwritten (a truncate costs ext4 more than the write).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError:
        return
    try:
        os.pwrite(fd, b"R", 0)
    except OSError:
        pass
    finally:
        os.close(fd)


def adopt(path):
    """In a forked child: its byte is at path (its parent made it), mapped
    at the first change of state, not at the fork."""
    global _adopted
    _adopted = path


def _map(path, new):
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW |
                     (os.O_CREAT | os.O_TRUNC if new else 0), 0o600)
    except OSError:
        return None
    try:
        if new:
            os.ftruncate(fd, 1)
        return mmap.mmap(fd, 1)
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)


def _take_adopted():
    global _byte, _path, _adopted
    path, _adopted = _adopted, None
    m = _map(path, False)
    if m is not None:
        _byte, _path = m, path


def read(path):
    """'R' or 'S', as another process published it; None when unknown."""
    try:
        # Not a link, and no wait on a FIFO someone put there.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            b = os.read(fd, 1)
        finally:
            os.close(fd)
    except OSError:
        return None
    return chr(b[0]) if b in (b"R", b"S") else None


def block():
    """The process's first thread goes into a host wait (kernel.cpulock's
    host_wait decides that it is the first)."""
    if _adopted is not None:
        _take_adopted()
    if _byte is not None:
        _byte[0] = SLEEPING


def unblock():
    if _byte is not None:
        _byte[0] = RUNNING
