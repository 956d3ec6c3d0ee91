"""The part of /proc a guest sees as its own: /proc/self (and /proc/<pid>,
/proc/thread-self). These entries describe the guest, not sysgate's Python
process: exe is the guest program, maps is the guest's VMA list."""
import os

from ..errors import KernelError, E


def _split(t, norm):
    """('exe', ...) when norm names an entry of the guest's own /proc dir."""
    parts = norm.split("/")
    if len(parts) < 3 or parts[0] != "" or parts[1] != "proc":
        return None
    me = parts[2]
    if me in ("self", "thread-self") or me in (str(t.pid), str(t.tid)):
        return parts[3:]
    return None


def readlink(t, norm):
    """Target of a /proc/self link, or None when norm is not one."""
    rest = _split(t, norm)
    if not rest or len(rest) > 2:
        return None
    if rest == ["exe"]:
        return t.exe_path
    if rest == ["cwd"]:
        return t.fs.cwd
    if rest == ["root"]:
        return "/"
    if len(rest) == 2 and rest[0] == "fd":
        try:
            return t.files.get(int(rest[1])).path
        except (ValueError, KernelError):
            raise KernelError(E.ENOENT) from None
    return None


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
