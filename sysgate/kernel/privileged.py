"""Calls that act on the host as a whole, answered as Linux answers a
process without the capability they need.

A guest run by root is root only inside its root directory: mounting,
rebooting, loading modules, setting the host's clock or names, switching
namespaces or attaching BPF programs would reach beyond it. Linux checks the
capability before it reads most arguments; where it validates something
first (the new time, adjtimex's read-only form), so does this. Module
loading answers ENOSYS, as a kernel built without modules does."""
import ctypes
import struct

from .errors import KernelError, E
from .hostlibc import libc
from .registry import syscall

_NOTE = "refused: the guest holds no capability over the host"


def _refuse(name, args, errno=E.EPERM):
    def handler(t, *_):
        raise KernelError(errno)
    handler.__name__ = "sys_" + name.split()[0]
    handler.__doc__ = f"{name.split()[-1]}: {_NOTE}"
    syscall(name, args, status="partial", note=_NOTE)(handler)
    return handler


# (name, argument kinds) answered EPERM before anything else is looked at.
for _name, _args in (
        ("pivot_root", "path path"), ("swapon", "path flags"), ("swapoff", "path"),
        ("sethostname", "ptr size"), ("setdomainname", "ptr size"),
        ("kexec_load", "ulong ulong ptr ulong"),
        ("kexec_file_load", "fd fd ulong str ulong"), ("acct", "path"),
        ("quotactl", "uint path int ptr"), ("quotactl_fd", "fd uint int ptr"),
        ("vhangup", ""), ("lookup_dcookie", "ulong ptr size"),
        ("chroot", "path"),
        ("fanotify_init", "flags flags"), ("syslog", "int ptr int"),
        ("bpf", "int ptr uint"), ("userfaultfd", "flags"),
        ("fsopen", "str flags"), ("fsmount", "fd flags flags"), ("fspick", "dirfd path flags"),
        ("fsconfig", "fd uint str ptr int"), ("open_tree", "dirfd path flags"),
        ("move_mount", "dirfd path dirfd path flags"),
        ("mount_setattr", "dirfd path flags ptr size")):
    _refuse(_name, _args)


PAGE, PATH_MAX = 4096, 4096
MS_NOUSER = 1 << 31
MNT_FORCE, MNT_DETACH, MNT_EXPIRE, UMOUNT_NOFOLLOW = 1, 2, 4, 8


def _mount_string(t, ptr):
    """copy_mount_string: NULL stays NULL; a string longer than PATH_MAX
    is EINVAL (strndup_user), an unreadable one EFAULT."""
    if not ptr:
        return None
    try:
        return t.mm.read_cstr(ptr, PATH_MAX)
    except KernelError as e:
        raise KernelError(E.EINVAL if e.errno == E.ENAMETOOLONG else e.errno) from None


def _lookup(t, ptr, follow=True):
    """user_path_at: the path's own errors (EFAULT, ENOENT, ENOTDIR, ...)."""
    import os
    from .fs.lookup import open_at, read_path
    flags = os.O_PATH | (0 if follow else os.O_NOFOLLOW)
    host = open_at(t, -100, read_path(t, ptr), flags)[0]
    os.close(host)


@syscall("mount", "path path str ulong ptr", status="partial", note=_NOTE)
def sys_mount(t, dev, dir_name, fstype, flags, data):
    # do_mount's order: the type, device and options are copied in, the
    # target looked up, the flags checked; the capability comes last.
    _mount_string(t, fstype)
    _mount_string(t, dev)
    if data and t.mm.extent(data, 1, 1) == 0:
        raise KernelError(E.EFAULT)      # copy_mount_options: not one byte readable
    _lookup(t, dir_name)
    if flags & MS_NOUSER and (flags & 0xFFFF0000) != 0xC0ED0000:
        raise KernelError(E.EINVAL)
    raise KernelError(E.EPERM)


def _umount(t, name, flags):
    if flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW):
        raise KernelError(E.EINVAL)
    _lookup(t, name, not flags & UMOUNT_NOFOLLOW)
    raise KernelError(E.EPERM)


@syscall("umount2", "path flags", status="partial", note=_NOTE)
def sys_umount2(t, name, flags):
    return _umount(t, name, flags)


@syscall("oldumount i386:umount", "path", status="partial", note=_NOTE)
def sys_oldumount(t, name):
    return _umount(t, name, 0)


NSFS_MAGIC = 0x6E736673
NS_GET_NSTYPE = 0xB703


@syscall("setns", "fd int", status="partial", note=_NOTE)
def sys_setns(t, fd, nstype):
    """A namespace file (/proc/self/ns/<x>, the host's) of the type asked
    for, or of any with nstype 0, is a namespace the guest may not enter
    (EPERM, as for a process without CAP_SYS_ADMIN); anything else EINVAL."""
    import fcntl
    from .fs.prochost import _fstatfs, _statfs
    host = t.files.get(fd).host             # EBADF first
    if _fstatfs(host, _statfs) != 0 or ctypes.c_long.from_buffer(_statfs).value != NSFS_MAGIC:
        raise KernelError(E.EINVAL)
    try:
        kind = fcntl.ioctl(host, NS_GET_NSTYPE)
    except OSError:
        raise KernelError(E.EINVAL) from None
    if nstype and nstype != kind:
        raise KernelError(E.EINVAL)
    raise KernelError(E.EPERM)


@syscall("reboot", "int int uint ptr", status="partial", note=_NOTE)
def sys_reboot(t, magic1, magic2, cmd, arg):
    # The capability is checked first, then the magic numbers.
    raise KernelError(E.EPERM)


# Setting the host's clock: Linux reads and validates the new time before
# the capability check (do_sys_settimeofday64), so those errors come first.
# adjtimex with modes 0 only reads the kernel's time state, as any process may.
NSEC = 10**9


def _check_time(sec, nsec):
    if sec < 0 or not 0 <= nsec < NSEC:
        raise KernelError(E.EINVAL)


def _settime(t, clock, ts, wide):
    if clock != 0:          # only CLOCK_REALTIME has a clock_set
        raise KernelError(E.EINVAL)
    sec, nsec = struct.unpack("<2q" if wide else "<2i", t.mm.read(ts, 16 if wide else 8))
    _check_time(sec, nsec)
    raise KernelError(E.EPERM)


@syscall("clock_settime", "clock ptr", status="partial", note=_NOTE)
def sys_clock_settime(t, clock, ts):
    return _settime(t, clock, ts, t.is64)


@syscall("clock_settime64", "clock ptr", status="partial", note=_NOTE)
def sys_clock_settime64(t, clock, ts):
    return _settime(t, clock, ts, True)


@syscall("settimeofday", "ptr ptr", status="partial", note=_NOTE)
def sys_settimeofday(t, tv, tz):
    if tv:
        sec, usec = struct.unpack("<2q" if t.is64 else "<2i",
                                  t.mm.read(tv, 16 if t.is64 else 8))
        if usec < 0 or usec >= 10**6:
            raise KernelError(E.EINVAL)
        _check_time(sec, usec * 1000)
    if tz:
        minuteswest, _ = struct.unpack("<2i", t.mm.read(tz, 8))
        if not -15 * 60 <= minuteswest <= 15 * 60:
            raise KernelError(E.EINVAL)
    raise KernelError(E.EPERM)


@syscall("stime", "ptr", status="partial", note=_NOTE)
def sys_stime(t, tptr):
    t.mm.read(tptr, 4)
    raise KernelError(E.EPERM)


TIMEX_64 = 208       # struct __kernel_timex (64-bit fields)
TIMEX_32 = 128       # i386's struct old_timex32


@syscall("adjtimex", "ptr")
def sys_adjtimex(t, buf):
    return _adjtimex(t, buf, TIMEX_64 if t.is64 else TIMEX_32, t.is64)


@syscall("clock_adjtime", "clock ptr")
def sys_clock_adjtime(t, clock, buf):
    if clock != 0:
        raise KernelError(E.EOPNOTSUPP if clock in (1, 4, 7) else E.EINVAL)
    return _adjtimex(t, buf, TIMEX_64 if t.is64 else TIMEX_32, t.is64)


@syscall("clock_adjtime64", "clock ptr")
def sys_clock_adjtime64(t, clock, buf):
    if clock != 0:
        raise KernelError(E.EOPNOTSUPP if clock in (1, 4, 7) else E.EINVAL)
    return _adjtimex(t, buf, TIMEX_64, True)


def _adjtimex(t, buf, size, wide):
    raw = t.mm.read(buf, size)
    modes = struct.unpack_from("<I", raw)[0]
    if modes:
        raise KernelError(E.EPERM)
    host = ctypes.create_string_buffer(TIMEX_64)
    state = libc.adjtimex(host)
    if state < 0:
        raise KernelError(ctypes.get_errno())
    if wide:
        t.mm.write(buf, host.raw[:size])
    else:
        t.mm.write(buf, _timex32(host.raw))
    return state


def _timex32(h):
    """struct __kernel_timex -> i386's old_timex32 (int fields, a 32-bit
    timeval)."""
    modes, _pad = struct.unpack_from("<Ii", h, 0)
    offset, freq, maxerror, esterror = struct.unpack_from("<4q", h, 8)
    status, _pad2 = struct.unpack_from("<ii", h, 40)
    constant, precision, tolerance = struct.unpack_from("<3q", h, 48)
    tv_sec, tv_usec = struct.unpack_from("<2q", h, 72)
    tick, ppsfreq, jitter = struct.unpack_from("<3q", h, 88)
    shift, _pad3 = struct.unpack_from("<ii", h, 112)
    stabil, jitcnt, calcnt, errcnt, stbcnt = struct.unpack_from("<5q", h, 120)
    tai = struct.unpack_from("<i", h, 160)[0]
    c = lambda v: ((v + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)   # noqa: E731
    out = struct.pack("<I4i i3i 2i 3i i5i i", modes, c(offset), c(freq), c(maxerror),
                      c(esterror), status, c(constant), c(precision), c(tolerance),
                      c(tv_sec), c(tv_usec), c(tick), c(ppsfreq), c(jitter), shift,
                      c(stabil), c(jitcnt), c(calcnt), c(errcnt), c(stbcnt), tai)
    return out.ljust(TIMEX_32, b"\0")


# --- unshare -----------------------------------------------------------------
_CLONE_THREAD, _CLONE_SIGHAND, _CLONE_VM = 0x10000, 0x800, 0x100
_CLONE_FS, _CLONE_FILES, _CLONE_SYSVSEM = 0x200, 0x400, 0x40000
_CLONE_NEWNS, _CLONE_NEWUSER, _CLONE_NEWIPC = 0x20000, 0x10000000, 0x8000000
_NAMESPACES = (0x20000 | 0x2000000 | 0x4000000 | 0x8000000 | 0x10000000 | 0x20000000
               | 0x40000000 | 0x80)     # NS CGROUP UTS IPC USER PID NET TIME
_UNSHARE_OK = (_CLONE_THREAD | _CLONE_FS | _CLONE_SIGHAND | _CLONE_VM | _CLONE_FILES
               | _CLONE_SYSVSEM | _NAMESPACES)
_UNSHARE_NOTE = ("new namespaces refused (EPERM: no CAP_SYS_ADMIN over the host); a thread "
                 "of a threaded process cannot take a descriptor table or fs context of its own")


@syscall("unshare", "ulong", status="partial", note=_UNSHARE_NOTE)
def sys_unshare(t, flags):
    """ksys_unshare's checks in its order. What a single-threaded process
    shares with nobody (its descriptor table, fs context, signal handlers,
    memory) is already its own: nothing to do, as Linux does nothing."""
    if flags & _CLONE_NEWUSER:
        flags |= _CLONE_THREAD | _CLONE_FS
    if flags & _CLONE_VM:
        flags |= _CLONE_SIGHAND
    if flags & _CLONE_SIGHAND:
        flags |= _CLONE_THREAD
    if flags & _CLONE_NEWNS:
        flags |= _CLONE_FS
    if flags & ~_UNSHARE_OK:
        raise KernelError(E.EINVAL)
    threaded = len(t.proc.threads) > 1
    if flags & (_CLONE_THREAD | _CLONE_SIGHAND | _CLONE_VM) and threaded:
        raise KernelError(E.EINVAL)
    if flags & _NAMESPACES:
        raise KernelError(E.EPERM)
    if flags & (_CLONE_FILES | _CLONE_FS) and threaded:
        raise KernelError(E.EINVAL)
    if flags & _CLONE_SYSVSEM:
        # semaphores are the host's (kernel.ipc): so is the undo list the
        # host thread making the call lets go of
        from .tables.unistd import NR_X86_64
        libc.syscall(ctypes.c_long(NR_X86_64["unshare"]), ctypes.c_long(_CLONE_SYSVSEM))
    return 0
