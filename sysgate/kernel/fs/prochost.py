"""What the guest's /proc (proc.py) stands on in the host: telling a host
descriptor on a proc file system and its guest name, and the host objects
the model's nodes are made of (deleted directories, symlinks, memfds)."""
import ctypes
import os

from ...abi.consts import O_PATH
from ..errors import KernelError, E
from ..hostlibc import libc

PROC_SUPER_MAGIC = 0x9FA0


# --- procfs on the host ------------------------------------------------------
_statfs = ctypes.create_string_buffer(120)
_fstatfs = libc.fstatfs


def is_procfs(hostfd):
    """Whether host descriptor hostfd is on a proc file system (any mount)."""
    if _fstatfs(hostfd, _statfs) != 0:
        return False
    return ctypes.c_long.from_buffer(_statfs).value == PROC_SUPER_MAGIC


def _unescape(s):
    """mountinfo's octal escapes (\\040 for a space)."""
    if "\\" not in s:
        return s
    return s.encode().decode("unicode_escape").encode("latin-1").decode(errors="surrogateescape")


def _proc_mounts():
    """(mount point, root inside the file system, st_dev) of every proc mount."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split(" ", 1)[0] != "proc":
                continue
            fields = left.split()
            major, minor = (int(x) for x in fields[2].split(":"))
            out.append((_unescape(fields[4]), _unescape(fields[3]), os.makedev(major, minor)))
    return out


def canonical(hostfd):
    """The guest name "/proc/<rest>" of host descriptor hostfd, which is on a
    procfs: its host path taken relative to the proc mount it lies under
    (the mount's own root added, for a bind mount of a subdirectory).
    EACCES when it cannot be placed: such an object is never handed over."""
    try:
        real = os.readlink(f"/proc/self/fd/{hostfd}")
        dev = os.fstat(hostfd).st_dev
        mounts = _proc_mounts()
    except OSError:
        raise KernelError(E.EACCES) from None
    best = None
    for mp, root, mdev in mounts:
        if mdev != dev:
            continue
        if real == mp or mp == "/" or real.startswith(mp + "/"):
            if best is None or len(mp) >= len(best[0]):
                best = (mp, root)
    if best is None:
        raise KernelError(E.EACCES)
    mp, root = best
    rest = real[len(mp):] if mp != "/" else real
    rel = (root.rstrip("/") + "/" + rest.lstrip("/")).strip("/")
    return "/proc" + ("/" + rel if rel else "")


# --- host objects the model stands on ----------------------------------------
_host_proc = None


def _scratch_dir():
    """A private directory of its own for one use, which the user removes
    (a directory kept for the process's life outlived it: forked children
    end without atexit, and /tmp filled with them)."""
    from .procspool import _tempdir
    return _private_dir(_tempdir(), "sysgate-proc-")


def _private_dir(parent, prefix=""):
    """tempfile.mkdtemp's directory (mode 0700, a name no one had), without
    importing tempfile (shutil, bz2, lzma...: some 3 ms of every glibc
    program's start, whose readlink of /proc/self/exe comes here)."""
    while True:
        d = os.path.join(parent, prefix + os.urandom(6).hex())
        try:
            os.mkdir(d, 0o700)
            return d
        except FileExistsError:
            continue


def _host_proc_fd():
    global _host_proc
    if _host_proc is None:
        _host_proc = os.open("/proc", O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    return _host_proc


def backing_dir(flags):
    """A host directory for a model directory: private, empty and deleted,
    so nothing can be created in it; each open its own (directory offsets)."""
    d = _scratch_dir()
    try:
        os.chmod(d, 0o555)
        mode = O_PATH if flags & O_PATH else os.O_RDONLY
        return os.open(d, mode | os.O_DIRECTORY | os.O_CLOEXEC)
    finally:
        os.rmdir(d)


def link_fd(target):
    """An O_PATH descriptor of a symlink reading target (lstat, readlink of a
    magic link opened with O_NOFOLLOW)."""
    d = _scratch_dir()
    name = os.path.join(d, "link")
    try:
        os.symlink(target, name)
        try:
            return os.open(name, O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
        finally:
            os.unlink(name)
    finally:
        os.rmdir(d)


def memfd(name, data):
    fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.fchmod(fd, 0o444)        # as proc's files show themselves
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
