"""A file's times: utimensat and the older utime, utimes, futimesat."""
import os
import time

from ...abi.consts import AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW
from ...abi.structs import read_array, read_struct
from ..errors import KernelError, E
from ..registry import syscall
from .lookup import object_at, read_path


# wide: the times are 64-bit (x86-64's, and i386's _time64 call).
@syscall("utimensat utimensat_time64", "dirfd path ptr atflags", wide=True)
@syscall("i386:utimensat", "dirfd path ptr atflags", wide=False)
def sys_utimensat(t, dirfd, path, times, flags, wide):
    ts = None
    if times:
        (a, an), (m, mn) = read_array(t, times, "timespec64" if wide else "timespec", 2)
        ts = (a, an, m, mn)
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise KernelError(E.EINVAL)
    if path == 0 and dirfd != AT_FDCWD:
        # futimens: the descriptor itself (Linux refuses flags here).
        if flags:
            raise KernelError(E.EINVAL)
        _utime(t.files.host(dirfd), ts)
        return 0
    with object_at(t, dirfd, read_path(t, path), flags) as h:
        _utime(h, ts)
    return 0


UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2       # include/linux/stat.h (not uapi)


def _utime(host, ts):
    p = f"/proc/self/fd/{host}"
    if ts is None:
        os.utime(p)
        return
    st = os.stat(p)
    now = time.time_ns()
    out = []
    for (sec, ns), cur in zip((ts[:2], ts[2:]), (st.st_atime_ns, st.st_mtime_ns)):
        if ns == UTIME_NOW:
            out.append(now)
        elif ns == UTIME_OMIT:
            out.append(cur)
        elif not 0 <= ns < 10**9:
            raise KernelError(E.EINVAL)
        else:
            out.append(sec * 10**9 + ns)
    os.utime(p, ns=tuple(out))


# The older forms: whole seconds (utime) or microseconds (utimes,
# futimesat), always following a final symlink.
def _utimes(t, dirfd, path, ts):
    if path == 0 and dirfd != AT_FDCWD:
        _utime(t.files.host(dirfd), ts)       # futimesat(fd, NULL, ...): the fd itself
        return 0
    with object_at(t, dirfd, read_path(t, path), 0) as h:
        _utime(h, ts)
    return 0


def _timevals(t, ptr):
    if not ptr:
        return None
    (a, au), (m, mu) = read_array(t, ptr, "timeval", 2)
    if not (0 <= au < 10**6 and 0 <= mu < 10**6):
        raise KernelError(E.EINVAL)
    return (a, au * 1000, m, mu * 1000)


@syscall("utime", "path ptr")
def sys_utime(t, path, times):
    ts = None
    if times:
        a, m = read_struct(t, times, "utimbuf")
        ts = (a, 0, m, 0)
    return _utimes(t, AT_FDCWD, path, ts)


@syscall("futimesat", "dirfd path ptr")
@syscall("utimes", "path ptr", dirfd=AT_FDCWD)
def sys_futimesat(t, dirfd, path, times):
    return _utimes(t, dirfd, path, _timevals(t, times))
