"""File descriptors with no name in the file system, made by the host for
the guest: memfd_create, inotify (fs/inotify_user.c) and timerfd.

A memfd is the host's own, so mapping it shared is host memory shared with
whoever else maps it. inotify watches a path the guest names: it is
resolved inside the root like every path, and the host watches the object
itself through its descriptor, so no host path is looked up again. A
timerfd is the host's, armed on the host clock: an absolute expiry on the
guest's clock is moved to the same distance away on the host's."""
import ctypes

import struct

from ...abi.consts import AT_FDCWD, AT_SYMLINK_NOFOLLOW
from ..errors import KernelError, E
from ..hostlibc import call
from ..registry import syscall
from ..time import NSEC, clock_ns
from ..timers import read_pair, write_pair
from .lookup import object_at, read_path

MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_HUGETLB = 1, 2, 4
MFD_NOEXEC_SEAL, MFD_EXEC = 8, 0x10
MFD_NAME_MAX = 249
IN_NONBLOCK, IN_CLOEXEC = 0o4000, 0o2000000
IN_DONT_FOLLOW, IN_ONLYDIR = 0x02000000, 0x01000000

@syscall("memfd_create", "str flags")
def sys_memfd_create(t, name_ptr, flags):
    if flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC
                 | (0x3F << 26)):
        raise KernelError(E.EINVAL)
    try:
        name = t.mm.read_cstr(name_ptr, MFD_NAME_MAX + 1)
    except KernelError as e:
        raise KernelError(E.EINVAL if e.errno == E.ENAMETOOLONG else e.errno) from None
    host = call("memfd_create", name, (flags & ~MFD_CLOEXEC) | MFD_CLOEXEC)
    return t.files.install(host, cloexec=bool(flags & MFD_CLOEXEC))


@syscall("inotify_init1", "flags")
def sys_inotify_init1(t, flags):
    if flags & ~(IN_NONBLOCK | IN_CLOEXEC):
        raise KernelError(E.EINVAL)
    host = call("inotify_init1", (flags & IN_NONBLOCK) | IN_CLOEXEC)
    return t.files.install(host, cloexec=bool(flags & IN_CLOEXEC))


@syscall("inotify_init")
def sys_inotify_init(t):
    return sys_inotify_init1(t, 0)


@syscall("inotify_add_watch", "fd path uint")
def sys_inotify_add_watch(t, fd, path, mask):
    host = t.files.host(fd)
    flags = AT_SYMLINK_NOFOLLOW if mask & IN_DONT_FOLLOW else 0
    with object_at(t, AT_FDCWD, read_path(t, path), flags) as obj:
        # The magic link leads the host to the very object resolved above
        # (a symlink itself, under IN_DONT_FOLLOW): the host must follow it.
        return call("inotify_add_watch", host, f"/proc/self/fd/{obj}".encode(),
                     mask & ~IN_DONT_FOLLOW)


@syscall("inotify_rm_watch", "fd int")
def sys_inotify_rm_watch(t, fd, wd):
    return call("inotify_rm_watch", t.files.host(fd), wd)


# --- timerfd ---------------------------------------------------------------------
TFD_CLOEXEC, TFD_NONBLOCK = 0o2000000, 0o4000
TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET = 1, 2
TIMERFD_CLOCKS = {0, 1, 7, 8, 9}       # REALTIME, MONOTONIC, BOOTTIME and the ALARM ones


@syscall("timerfd_create", "clock flags")
def sys_timerfd_create(t, clock, flags):
    if clock not in TIMERFD_CLOCKS or flags & ~(TFD_CLOEXEC | TFD_NONBLOCK):
        raise KernelError(E.EINVAL)
    host = call("timerfd_create", clock, (flags & TFD_NONBLOCK) | TFD_CLOEXEC)
    return t.files.install(host, cloexec=bool(flags & TFD_CLOEXEC))


def _clock_of(host):
    """The clock a timerfd counts on, as the host's fdinfo tells it."""
    with open(f"/proc/self/fdinfo/{host}") as f:
        for line in f:
            if line.startswith("clockid:"):
                return int(line.split()[1])
    raise KernelError(E.EINVAL)


def _host_spec(interval, value):
    return ctypes.create_string_buffer(struct.pack("<qqqq", *divmod(interval, NSEC),
                                                   *divmod(value, NSEC)), 32)


# The 64 names are i386's calls with a 64-bit time_t.
@syscall("timerfd_settime", "fd flags ptr ptr")
@syscall("timerfd_settime64", "fd flags ptr ptr", wide=True)
def sys_timerfd_settime(t, fd, flags, new, old, wide=False):
    interval, value = read_pair(t, new, 1, wide)     # copied first, as Linux's
    if flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET):
        raise KernelError(E.EINVAL)
    host = t.files.host(fd)
    hflags = flags
    if flags & TFD_TIMER_ABSTIME and value:
        # The same distance from now on the host's clock as on the guest's.
        clock = _clock_of(host)
        left = value - clock_ns(t, {8: 0, 9: 7}.get(clock, clock))
        if left <= 0:
            left = 1
        if flags & TFD_TIMER_CANCEL_ON_SET:
            # That one is only for an absolute time: keep it absolute, on
            # the host's clock.
            import time
            value = time.clock_gettime_ns({8: 0, 9: 7}.get(clock, clock)) + left
        else:
            value, hflags = left, flags & ~TFD_TIMER_ABSTIME
    cur = ctypes.create_string_buffer(32)
    call("timerfd_settime", host, hflags, _host_spec(interval, value), cur)
    if old:
        write_pair(t, old, *_from_host(cur), 1, wide)
    return 0


def _from_host(buf):
    isec, insec, vsec, vnsec = struct.unpack("<qqqq", buf.raw)
    return isec * NSEC + insec, vsec * NSEC + vnsec


@syscall("timerfd_gettime", "fd ptr")
@syscall("timerfd_gettime64", "fd ptr", wide=True)
def sys_timerfd_gettime(t, fd, cur, wide=False):
    buf = ctypes.create_string_buffer(32)
    call("timerfd_gettime", t.files.host(fd), buf)
    write_pair(t, cur, *_from_host(buf), 1, wide)
    return 0
