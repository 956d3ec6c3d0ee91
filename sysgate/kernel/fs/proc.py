"""The part of /proc a guest sees as its own: /proc/self (and /proc/<pid>,
/proc/thread-self). These entries describe the guest, not sysgate's Python
process: exe is the guest program, maps is the guest's VMA list, fd/N are the
guest's descriptors, cwd and root its directories."""
import os
import posixpath

from ..errors import KernelError, E


def normalise(path):
    """Lexical normalisation, used only to recognise virtual /proc names."""
    return posixpath.normpath(path.decode(errors="surrogateescape"))


def _split(t, norm):
    """The parts after /proc/self when norm names the guest's own /proc dir."""
    parts = norm.split("/")
    if len(parts) < 3 or parts[0] != "" or parts[1] != "proc":
        return None
    me = parts[2]
    if me in ("self", "thread-self") or me in (str(t.pid), str(t.tid)):
        return parts[3:]
    return None


def is_own_dir(t, norm):
    """/proc, /proc/self (or /proc/<pid>) and /proc/self/fd."""
    return norm == "/proc" or _split(t, norm) in ([], ["fd"])


def fd_link(t, fd):
    """(target name, OpenFile) of the guest's /proc/self/fd/<fd>."""
    try:
        f = t.files.get(int(fd))
    except (ValueError, KernelError):
        raise KernelError(E.ENOENT) from None
    return (f.path if f.path is not None else t.fs.guest_path_of(f.host)), f


def _link(t, rest):
    """(target, OpenFile or None, parts after the link) for a magic link."""
    if not rest:
        return None
    head = rest[0]
    if head == "exe":
        return t.exe_path, None, rest[1:]
    if head == "cwd":
        return t.fs.cwd, None, rest[1:]
    if head == "root":
        return "/", None, rest[1:]
    if head == "fd" and len(rest) >= 2:
        target, f = fd_link(t, rest[1])
        return target, f, rest[2:]
    return None


def readlink(t, norm):
    """Target of a /proc/self magic link named exactly, or None."""
    link = _link(t, _split(t, norm) or ())
    if link is None or link[2]:
        return None
    return link[0]


def magic(t, norm):
    """For a path through one of the guest's magic links: (target, OpenFile
    or None, remainder list), else None."""
    return _link(t, _split(t, norm) or ())


def _memfd(name, data):
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def content(t, norm):
    """Bytes of a generated /proc/self file, or None."""
    rest = _split(t, norm)
    if rest == ["maps"]:
        return t.mm.maps_text().encode()
    if rest == ["cmdline"]:
        return b"".join(a + b"\0" for a in t.argv)
    if rest == ["environ"]:
        return b"".join(a + b"\0" for a in t.envp)
    if rest == ["auxv"]:
        return t.auxv_bytes
    return None


def open_file(t, norm):
    """A host fd for a generated /proc/self file, or None."""
    data = content(t, norm)
    if data is None:
        return None
    return _memfd(norm.rsplit("/", 1)[-1], data)
