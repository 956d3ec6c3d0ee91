"""A guest process's run state (R or S) as another guest of its session
sees it in /proc/<pid>/stat and status.

The host process's own state is not the guest's: sysgate's main thread
also sleeps for its own reasons (starting a helper thread after a fork,
the GIL, the CPU lock of its threads), and a program that waits for its
child to sleep (LTP's TST_PROCESS_STATE_WAIT before it signals the child)
would then go on while the child has not reached its blocking call yet.
So each guest process keeps one byte in the session's spool, the first of
its entry there (kernel.fs.procspool), S while its first thread is in a
host wait that a blocking call made, R otherwise; kernel.fs.procinfo reads
it."""
import mmap
import os

RUNNING, SLEEPING = ord("R"), ord("S")

_byte = None        # this process's shared byte, once published
_path = None
_adopted = None     # a forked child's byte, made by its parent, mapped when first written


def publish(path):
    """This process's state byte, the first of its entry at path (at exec,
    once procspool has written the entry; in a forked child None, so that
    it does not keep writing its parent's); None: no byte."""
    global _byte, _path, _adopted
    _adopted = None
    if path == _path and _byte is not None:
        return          # an exec: the same process, the same byte
    old, _byte, _path = _byte, None, None
    if old is not None:
        old.close()
    if path is None:
        return
    m = _map(path)
    if m is not None:
        m[0] = RUNNING
        _byte, _path = m, path


def adopt(path):
    """In a forked child: its byte is the first of the entry at path (its
    parent wrote it, R), mapped at the first change of state, not at the
    fork."""
    global _adopted
    _adopted = path


def _map(path):
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        return mmap.mmap(fd, 1)
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)


def _take_adopted():
    global _byte, _path, _adopted
    path, _adopted = _adopted, None
    m = _map(path)
    if m is not None:
        _byte, _path = m, path


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
