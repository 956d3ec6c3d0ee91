"""Path walk with confinement.

The host kernel resolves every guest path itself, below the root directory:
- an absolute path with openat2(root, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS):
  '..' stops at the root, absolute and relative symlinks resolve inside it,
  and /proc magic links (/proc/self/root, /proc/*/fd/*) cannot be followed;
- a relative path from the directory it is relative to (the cwd, held as a
  host descriptor, or a dirfd) with RESOLVE_BENEATH, which needs no path
  name (a renamed or deleted directory works as on Linux); when the path
  climbs above that directory (EXDEV), it is joined to the directory's guest
  path and resolved in the root as above.
Whatever lands on a proc file system is answered by sysgate's model of the
guest's /proc instead (lookup.py detects it, proc.py answers): the host's
/proc describes sysgate's own process. Operations on a final name (unlink, mkdir,
lstat, ...) open the parent this way and act on the single last component
relative to it.

The i386 ABI's view of a few host objects differs from a 64-bit caller's
(ext4 directory offsets are 32-bit hashes for a compat caller): compat_call
makes those host calls through INT 0x80, as a 32-bit process would.
"""
import ctypes
import mmap
import os
import stat

from ...abi.consts import (MAP_32BIT, O_PATH, O_TMPFILE, PATH_MAX,  # noqa: F401 (O_PATH, PATH_MAX)
                           RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS,
                           RESOLVE_NO_XDEV)
from ..errors import KernelError, E
from ..hostlibc import libc
from ..tables.unistd import NR_X86_64

SYS_openat2, SYS_statx = NR_X86_64["openat2"], NR_X86_64["statx"]
IN_ROOT = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS
BENEATH = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS
_O_CREAT_TMPFILE = os.O_CREAT | O_TMPFILE & ~os.O_DIRECTORY     # the flags that take a mode


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                ("resolve", ctypes.c_uint64)]


_how = _OpenHow()
_how_ref = ctypes.byref(_how)
_how_size = ctypes.c_long(ctypes.sizeof(_OpenHow))
_openat2 = libc.syscall
_NR_openat2 = ctypes.c_long(SYS_openat2)


def openat2(dirfd, path, flags, mode, resolve):
    how = _how
    how.flags = flags | os.O_CLOEXEC
    how.mode = mode if flags & _O_CREAT_TMPFILE else 0
    how.resolve = resolve
    r = _openat2(_NR_openat2, ctypes.c_long(dirfd), ctypes.c_char_p(path), _how_ref, _how_size)
    if r < 0:
        raise KernelError(ctypes.get_errno())
    return r


# --- host calls as a 32-bit process makes them -------------------------------
# long stub(nr, a, b, c, d, e): eax=nr ebx=a ecx=b edx=c esi=d edi=e; int 0x80
_STUB = bytes([0x53, 0x48, 0x89, 0xF8, 0x48, 0x89, 0xF3, 0x49, 0x89, 0xD2, 0x48, 0x89, 0xCA,
               0x4C, 0x89, 0xD1, 0x4C, 0x89, 0xC6, 0x4C, 0x89, 0xCF, 0xCD, 0x80,
               0x48, 0x63, 0xC0, 0x5B, 0xC3])
COMPAT_BUF = 1 << 20
_compat = None       # (function, scratch mmap, scratch address) once probed; False if unusable


def _probe_compat():
    """INT 0x80 from a 64-bit process needs the host's IA32 emulation; try it
    in a child first, so a host without it costs a fallback, not a crash."""
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | MAP_32BIT
    try:
        code = mmap.mmap(-1, 4096, flags=flags,
                         prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        scratch = mmap.mmap(-1, COMPAT_BUF, flags=flags)
    except (OSError, ValueError):
        return False
    code.write(_STUB)
    code_addr = ctypes.addressof(ctypes.c_char.from_buffer(code))
    buf_addr = ctypes.addressof(ctypes.c_char.from_buffer(scratch))
    if code_addr + 4096 > 1 << 32 or buf_addr + COMPAT_BUF > 1 << 32:
        return False
    fn = ctypes.CFUNCTYPE(ctypes.c_long, *[ctypes.c_long] * 6)(code_addr)
    # The verdict comes through a pipe: while the guest ignores SIGCHLD the
    # host reaps this child itself (hostsig.reap_children).
    r, w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:      # pragma: no cover (child)
        try:
            os.close(r)
            if fn(20, 0, 0, 0, 0, 0) == os.getpid():     # i386 getpid
                os.write(w, b"1")
        finally:
            os._exit(0)
    from ..hostsig import OWN_CHILDREN
    OWN_CHILDREN.add(pid)
    os.close(w)
    try:
        ok = os.read(r, 1) == b"1"
    finally:
        os.close(r)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    if not ok:
        return False
    return fn, scratch, buf_addr, code


def compat():
    """(call, scratch buffer, its address, code) or None where the host cannot."""
    global _compat
    if _compat is None:
        _compat = _probe_compat()
    return _compat or None


def compat_call(nr, a=0, b=0, c=0, d=0, e=0):
    """An i386 system call made by this process; its -errno raised."""
    r = _compat[0](nr, a, b, c, d, e)
    if r < 0:
        raise KernelError(-r)
    return r


class FsContext:
    """Root and cwd of a task: host directories held open."""

    def __init__(self, root=None):
        self.root_host = os.path.realpath(root) if root else "/"
        self.root_fd = os.open(self.root_host, O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        self.confined = root is not None
        st = os.fstat(self.root_fd)
        self.root_id = (st.st_dev, st.st_ino)
        if self.confined:
            self.cwd_fd = os.open(self.root_host, O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        else:
            self.cwd_fd = os.open(".", O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        self.cwd_virtual = None     # the guest name of a cwd in the guest's /proc
        # The guest's umask is the process's: the host applies it to every
        # file this process creates for the guest.
        self.umask = os.umask(0o022)
        os.umask(self.umask)

    def set_umask(self, mask):
        old, self.umask = self.umask, mask & 0o777
        os.umask(self.umask)
        return old

    @property
    def cwd(self):
        if self.cwd_virtual is not None:
            return self.cwd_virtual
        return self.guest_path_of(self.cwd_fd)

    def open(self, base, path, flags, mode=0):
        """Open path (bytes) for the guest: absolute ones in the root,
        relative ones from host directory fd base (None: the cwd)."""
        if path[:1] == b"/":
            return openat2(self.root_fd, path, flags, mode, IN_ROOT)
        if not path:
            raise KernelError(E.ENOENT)
        b = self.cwd_fd if base is None else base
        try:
            return openat2(b, path, flags, mode, BENEATH)
        except KernelError as e:
            if e.errno != E.EXDEV:
                raise
        # The path climbs above its directory: its leading '..' are taken
        # on the host (a deleted directory still has a parent), never above
        # the root; what still climbs is resolved by name from the root.
        fd, rest = self._climb(b, path)
        try:
            try:
                return openat2(fd, rest, flags, mode, BENEATH)
            except KernelError as e:
                if e.errno != E.EXDEV:
                    raise
            return openat2(self.root_fd, self.guest_path_of(fd).encode(errors="surrogateescape")
                           + b"/" + rest, flags, mode, IN_ROOT)
        finally:
            os.close(fd)

    def open_same_mount(self, base, path, flags, mode=0):
        """open() as one openat2 that stays on the file systems it starts
        on (EXDEV where it would cross a mount): what it finds or fails to
        find cannot have been decided by a proc mounted on the way."""
        if path[:1] == b"/":
            return openat2(self.root_fd, path, flags, mode, IN_ROOT | RESOLVE_NO_XDEV)
        if not path:
            raise KernelError(E.ENOENT)
        return openat2(self.cwd_fd if base is None else base, path, flags, mode,
                       BENEATH | RESOLVE_NO_XDEV)

    def _climb(self, base, path):
        comps = path.split(b"/")
        fd = os.open(".", O_PATH | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=base)
        i = 0
        while i < len(comps) and comps[i] in (b"..", b".", b""):
            if comps[i] == b"..":
                st = os.fstat(fd)
                if (st.st_dev, st.st_ino) != self.root_id:
                    up = os.open("..", O_PATH | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=fd)
                    os.close(fd)
                    fd = up
            i += 1
        return fd, b"/".join(comps[i:]) or b"."

    def guest_path_of(self, hostfd):
        """The guest-visible name of an open host fd, as /proc/self/fd shows it."""
        real = os.readlink(f"/proc/self/fd/{hostfd}")
        root = self.root_host
        if root == "/" or not real.startswith("/"):
            return real
        if real == root:
            return "/"
        if real.startswith(root) and real[len(root)] == "/":
            return real[len(root):]
        if real.startswith(root + " (deleted)"):
            return "/" + real[len(root):].lstrip()
        # Not below the root (a descriptor sysgate was given): Linux too
        # names such a file by its path from the real root.
        return real

    def is_deleted_dir(self, hostfd):
        if hostfd == self.cwd_fd and self.cwd_virtual is not None:
            return False
        return os.fstat(hostfd).st_nlink == 0

    def inside(self, hostfd):
        """Whether the directory open at hostfd is the root or below it."""
        if not self.confined:
            return True
        real = os.readlink(f"/proc/self/fd/{hostfd}")
        root = self.root_host
        if root == "/":
            return True
        # "<root> evil/x" is not below the root; "<root> (deleted)" is it.
        return real in (root, root + " (deleted)") or real.startswith(root + "/")

    def is_foreign(self, hostfd):
        """A descriptor from outside (received, inherited) that is a
        directory not below the root: never a base for path resolution."""
        try:
            return self.confined and is_dir_fd(hostfd) and not self.inside(hostfd)
        except OSError:
            return False

    def chdir_to(self, hostfd, virtual=None):
        """Make hostfd the cwd; virtual: its guest name, for a directory of
        the guest's /proc (held open on a private host directory)."""
        new = os.dup(hostfd)
        os.set_inheritable(new, False)
        old, self.cwd_fd = self.cwd_fd, new
        os.close(old)
        self.cwd_virtual = virtual
        if virtual is not None:
            return
        if not self.confined:
            try:
                os.fchdir(new)
            except OSError:
                pass


def is_dir_fd(hostfd):
    return stat.S_ISDIR(os.fstat(hostfd).st_mode)
