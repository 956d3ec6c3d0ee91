"""The guest's file-descriptor table.

Each guest fd owns one host fd; dup() dups the host fd too, so the open file
description (offset, status flags) is shared exactly as Linux shares it.
Only the close-on-exec flag lives here, because it belongs to the fd, and
what the host's open file cannot say for the guest: that an i386 open did
not ask for O_LARGEFILE (the host forces it), and that a descriptor was
inherited from outside rather than opened by the guest.
"""
import os
import resource
import stat

from ..errors import KernelError, E

NR_OPEN = 1048576    # fs.nr_open: no RLIMIT_NOFILE may exceed it
# Host descriptors sysgate keeps beside the guest's (its own files, pipes
# and signalfd, the guest's file mappings, ones open for a moment): every
# guest fd is a host fd, so they share the host process's RLIMIT_NOFILE.
RESERVE = 64


def initial_nofile():
    """The guest's RLIMIT_NOFILE (soft, hard) at the start: the host's. The
    host's limits are raised by RESERVE where the host lets sysgate (root,
    below fs.nr_open), so that the guest can reach its own; where it does
    not, the guest's are lowered by it instead: a limit the guest could not
    reach would end its fds early in EMFILE (LTP's dup03 and pipe06 fill
    the table up to sysconf(_SC_OPEN_MAX))."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    inf = resource.RLIM_INFINITY
    if hard == inf:
        room, ghard = NR_OPEN, hard
    else:
        room = ghard = hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard + RESERVE, hard + RESERVE))
            room = hard + RESERVE
        except (ValueError, OSError):
            ghard = max(hard - RESERVE, 0)
    gsoft = min(NR_OPEN if soft == inf else soft, room - RESERVE if ghard == inf else ghard)
    try:
        cur = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if cur != inf and cur < room:
            resource.setrlimit(resource.RLIMIT_NOFILE, (room, resource.getrlimit(
                resource.RLIMIT_NOFILE)[1]))
    except (ValueError, OSError):
        pass
    return gsoft, ghard


class OpenFile:
    """path is the name to show for the file when the host cannot tell it
    (generated /proc files); None means: ask the host (lookup.fd_path)."""
    __slots__ = ("host", "path", "cloexec", "nolfs", "foreign", "blocks", "isdir", "isreg",
                 "inproc")

    def __init__(self, host, path=None, cloexec=False, nolfs=False, foreign=False, fmt=None):
        self.host, self.path, self.cloexec = host, path, cloexec
        self.foreign = foreign
        if fmt is None:
            fmt = stat.S_IFMT(os.fstat(host).st_mode)
        # Whether a read or write may wait (pipes, ttys, sockets, and the
        # anonymous inodes of eventfd and epoll, which have no type bits).
        self.blocks = fmt in (stat.S_IFIFO, stat.S_IFCHR, stat.S_IFSOCK, 0)
        self.isdir = fmt == stat.S_IFDIR
        self.isreg = fmt == stat.S_IFREG
        self.nolfs = nolfs
        # An object of the guest's /proc? Its name says so for the model's
        # objects; for any other descriptor lookup asks the host once.
        self.inproc = True if path is not None and (path == "/proc" or
                                                    path.startswith("/proc/")) else None

    def dup(self, host, cloexec=False):
        f = OpenFile(host, self.path, cloexec, self.nolfs, self.foreign, stat.S_IFREG)
        f.blocks, f.isdir, f.isreg, f.inproc = self.blocks, self.isdir, self.isreg, self.inproc
        return f


class FdTable:
    def __init__(self, inherit_std=True):
        self.fds = {}
        # RLIMIT_NOFILE's soft limit, as alloc_fd, dup2 and F_DUPFD see it
        # (kernel.info keeps it current when the guest sets the limit).
        # nofile: the guest's (soft, hard) until it sets its own (kernel.info)
        self.nofile = initial_nofile()
        self.limit = self.nofile[0]
        if inherit_std:
            for fd in (0, 1, 2):
                try:
                    host = os.dup(fd)
                except OSError:
                    continue
                os.set_inheritable(host, False)
                # A directory handed in from outside must not become a way
                # around the root: lookup refuses to resolve relative to it.
                self.fds[fd] = OpenFile(host, foreign=stat.S_ISDIR(os.fstat(host).st_mode))

    def get(self, fd):
        f = self.fds.get(fd)
        if f is None:
            raise KernelError(E.EBADF)
        return f

    def host(self, fd):
        return self.get(fd).host

    def lowest_free(self, start=0):
        fd = start
        while fd in self.fds:
            fd += 1
        if fd >= self.limit:
            raise KernelError(E.EMFILE)
        return fd

    def install(self, host, path=None, cloexec=False, start=0, like=None, nolfs=False,
                foreign=False):
        """Give host fd the lowest free guest fd >= start; like: the
        OpenFile it duplicates; foreign: it came from outside the root
        (path resolution never starts from it)."""
        try:
            fd = self.lowest_free(start)
        except KernelError:
            os.close(host)
            raise
        self.fds[fd] = like.dup(host, cloexec) if like else OpenFile(host, path, cloexec, nolfs,
                                                                     foreign)
        return fd

    def install_at(self, fd, host, path=None, cloexec=False, like=None):
        if not 0 <= fd < self.limit:
            os.close(host)
            raise KernelError(E.EBADF)
        self.close(fd, missing_ok=True)
        self.fds[fd] = like.dup(host, cloexec) if like else OpenFile(host, path, cloexec)
        return fd

    def close(self, fd, missing_ok=False):
        f = self.fds.pop(fd, None)
        if f is None:
            if missing_ok:
                return
            raise KernelError(E.EBADF)
        try:
            os.close(f.host)
        except OSError:
            pass

    def close_all(self):
        for fd in list(self.fds):
            self.close(fd)

    def close_on_exec(self):
        for fd in [fd for fd, f in self.fds.items() if f.cloexec]:
            self.close(fd)
