"""What every gate shares: the table dispatch that stores the result in one
place, and the exit work run before any return to user mode."""
from ..kernel.errors import KernelError
from ..kernel.registry import build_table

ENOSYS, EPIPE, SIGPIPE = 38, 32, 13
MASK64 = (1 << 64) - 1


class Dispatcher:
    """The two ABI tables, built once from the registry."""

    def __init__(self):
        self.tables = {"x86_64": build_table("x86_64"), "i386": build_table("i386")}


def invoke(task, table, nr, args):
    """Run system call nr with raw register arguments; return the value for
    the result register (a negative errno on failure). The only place a
    handler's KernelError or a host OSError becomes -errno."""
    entry = table[nr] if 0 <= nr < len(table) else None
    if entry is None:
        return -ENOSYS
    try:
        conv = entry.convert
        if not conv:
            return entry.fn(task)
        return entry.fn(task, *[c(a) for c, a in zip(conv, args)])
    except KernelError as e:
        if e.errno == EPIPE and not e.quiet:
            _broken_pipe(task)
        return -e.errno
    except OSError as e:
        if e.errno == EPIPE:
            _broken_pipe(task)
        return -(e.errno or 5)


def _broken_pipe(task):
    """A write that found no reader: Linux sends the writer SIGPIPE along
    with EPIPE (pipe_write, sock_sendmsg without MSG_NOSIGNAL), as
    send_sig(SIGPIPE, current, 0) does: SI_USER from itself. (The host
    process ignores SIGPIPE, so the host only gave the EPIPE.)"""
    from ..kernel.signal import send_self
    send_self(task, SIGPIPE, code=0)
