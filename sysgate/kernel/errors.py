"""The one way a handler reports failure: raise KernelError(errno).

entry.common turns it (and OSError from host calls made on the guest's
behalf) into -errno in the result register; nothing else does.
"""
import errno as E  # noqa: F401  (re-exported: handlers write E.EFAULT)


class KernelError(Exception):
    def __init__(self, err, why="", quiet=False):
        super().__init__(err, why)
        self.errno = err
        self.quiet = quiet      # EPIPE without SIGPIPE (MSG_NOSIGNAL)


def check(cond, err):
    if not cond:
        raise KernelError(err)
