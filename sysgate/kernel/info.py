"""What the system tells about itself: uname, sysinfo, limits, randomness,
CPU affinity."""
import ctypes
import os
import resource
import struct

from .errors import KernelError, E
from .hostlibc import libc
from .registry import syscall
from .tables.unistd import NR_X86_64
from . import cpunum, hostcpu



@syscall("uname", "ptr")
def sys_uname(t, buf):
    u = os.uname()
    try:
        with open("/proc/sys/kernel/domainname", "rb") as f:
            domain = f.read().strip()
    except OSError:
        domain = b"(none)"
    fields = [x.encode() for x in (u.sysname, u.nodename, u.release, u.version, u.machine)]
    t.mm.write(buf, b"".join(f[:64].ljust(65, b"\0") for f in fields + [domain]))
    return 0


SYSINFO_64 = struct.Struct("<q9QHH4xQQI4x")
SYSINFO_32 = struct.Struct("<i9IHHIII8x")


@syscall("sysinfo", "ptr")
def sys_sysinfo(t, buf):
    raw = ctypes.create_string_buffer(SYSINFO_64.size)
    if libc.sysinfo(raw) != 0:
        raise KernelError(ctypes.get_errno())
    v = list(SYSINFO_64.unpack(raw.raw))
    if t.is64:
        t.mm.write(buf, raw.raw)
        return 0
    # As Linux's compat sysinfo: grow mem_unit until the sizes fit 32 bits.
    uptime, loads, ram, procs, pad, high, unit = v[0], v[1:4], v[4:10], v[10], v[11], v[12:14], v[14]
    if (ram[0] | ram[4]) >> 32:
        bits = 0
        while unit < 4096:
            unit <<= 1
            bits += 1
        ram = [r >> bits for r in ram]
        high = [h >> bits for h in high]
    t.mm.write(buf, SYSINFO_32.pack(uptime, *[x & 0xFFFFFFFF for x in loads],
                                    *[x & 0xFFFFFFFF for x in ram], procs, pad,
                                    *[x & 0xFFFFFFFF for x in high], unit))
    return 0


RLIM_NLIMITS = 16
RLIM64_INFINITY = (1 << 64) - 1


def _limit(t, res):
    if not 0 <= res < RLIM_NLIMITS:
        raise KernelError(E.EINVAL)
    if res in t.rlimits:
        return t.rlimits[res]
    if res == resource.RLIMIT_NOFILE:
        cur, mx = t.files.nofile
        return (cur, RLIM64_INFINITY if mx < 0 else mx)
    cur, mx = resource.getrlimit(res)
    return (RLIM64_INFINITY if cur < 0 else cur, RLIM64_INFINITY if mx < 0 else mx)


def _set_limit(t, res, cur, mx):
    old = _limit(t, res)
    if cur > mx or mx > old[1]:
        raise KernelError(E.EINVAL if cur > mx else E.EPERM)
    if res == resource.RLIMIT_NOFILE:
        _set_nofile(t, cur, mx)
    t.rlimits[res] = (cur, mx)


def _set_nofile(t, cur, mx):
    """No more than fs.nr_open descriptors; the guest's table follows the
    soft limit, and sysgate's own host limit makes room for every guest fd
    (each is a host fd) beside sysgate's few."""
    from .fs.fdtable import NR_OPEN
    if mx > NR_OPEN:
        raise KernelError(E.EPERM)
    t.files.limit = cur
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = cur + 64 if hard == resource.RLIM_INFINITY else min(cur + 64, hard)
    if 0 <= soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            pass


@syscall("prlimit64", "pid resource ptr ptr")
def sys_prlimit64(t, pid, res, new, old):
    if pid not in (0, t.pid):
        raise KernelError(E.ESRCH)
    cur = _limit(t, res)
    if new:
        _set_limit(t, res, *struct.unpack("<QQ", t.mm.read(new, 16)))
    if old:
        t.mm.write(old, struct.pack("<QQ", *cur))
    return 0


def _getrlimit(t, res, buf, clamp):
    cur, mx = _limit(t, res)
    if t.is64:
        t.mm.write(buf, struct.pack("<QQ", cur, mx))
    else:
        t.mm.write(buf, struct.pack("<II", min(cur, clamp), min(mx, clamp)))
    return 0


@syscall("getrlimit", "resource ptr")
def sys_getrlimit(t, res, buf):
    # i386's old getrlimit reports infinity as 0x7fffffff, ugetrlimit as ~0.
    return _getrlimit(t, res, buf, 0xFFFFFFFF if t.is64 else 0x7FFFFFFF)


@syscall("ugetrlimit", "resource ptr")
def sys_ugetrlimit(t, res, buf):
    return _getrlimit(t, res, buf, 0xFFFFFFFF)


@syscall("setrlimit", "resource ptr")
def sys_setrlimit(t, res, buf):
    if t.is64:
        cur, mx = struct.unpack("<QQ", t.mm.read(buf, 16))
    else:
        cur, mx = (RLIM64_INFINITY if x == 0xFFFFFFFF else x
                   for x in struct.unpack("<II", t.mm.read(buf, 8)))
    _set_limit(t, res, cur, mx)
    return 0


GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE = 1, 2, 4


@syscall("getrandom", "obuf size flags")
def sys_getrandom(t, buf, count, flags):
    if flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) or \
            flags & (GRND_RANDOM | GRND_INSECURE) == (GRND_RANDOM | GRND_INSECURE):
        raise KernelError(E.EINVAL)
    count = min(count, 0x1FFFFFF)
    t.mm.write(buf, t.random_bytes(count))
    return count


def _possible_cpus():
    try:
        with open("/sys/devices/system/cpu/possible") as f:
            return int(f.read().strip().split("-")[-1].split(",")[-1]) + 1
    except (OSError, ValueError):
        return os.cpu_count() or 1


def _affinity_task(t, pid):
    """The thread a sched_*affinity call names: 0 is the caller."""
    if pid == 0:
        return t
    target = t.proc.threads.get(pid)
    if target is None:
        raise KernelError(E.ESRCH)
    return target


@syscall("sched_getaffinity", "pid uint ptr")
def sys_sched_getaffinity(t, pid, size, mask):
    target = _affinity_task(t, pid)
    word = t.word
    ncpu = _possible_cpus()
    if size * 8 < ncpu or size & (word - 1):
        raise KernelError(E.EINVAL)
    n = min(size, _cpumask_size())
    bits = getattr(target, "affinity", None)
    if bits is None:
        bits = 0
        for c in hostcpu.host_mask():
            bits |= 1 << c
    t.mm.write(mask, bits.to_bytes(n, "little"))
    return n


@syscall("sched_setaffinity", "pid uint ptr")
def sys_sched_setaffinity(t, pid, size, mask):
    # Kept per thread and reported back; the emulated CPU is one anyway.
    n = min(size, _cpumask_size())
    bits = int.from_bytes(t.mm.read(mask, n), "little") if n else 0
    target = _affinity_task(t, pid)
    allowed = 0
    for c in hostcpu.host_mask():
        allowed |= 1 << c
    if not bits & allowed:
        raise KernelError(E.EINVAL)
    target.affinity = bits & allowed
    cpunum.moved(target)
    return 0


_CPUMASK_SIZE = []


def _cpumask_size():
    """The kernel's cpumask_size(), which bounds what sched_getaffinity
    copies and returns: a build-time size (NR_CPUS), not the CPUs present,
    so it is asked of the host kernel itself, once."""
    if not _CPUMASK_SIZE:
        import ctypes
        buf = ctypes.create_string_buffer(8192)
        got = libc.syscall(NR_X86_64["sched_getaffinity"], 0, 8192, buf)     # the host's
        word = 8
        _CPUMASK_SIZE.append(got if got > 0 else
                             (_possible_cpus() + 8 * word - 1) // (8 * word) * word)
    return _CPUMASK_SIZE[0]


@syscall("sched_yield")
def sys_sched_yield(t):
    lock = t.proc.cpu_sched
    if lock is None:
        os.sched_yield()
    else:
        lock.yield_cpu(t, force=True)     # the other threads go first
    return 0


@syscall("getcpu", "ptr ptr ptr")
def sys_getcpu(t, cpu, node, _cache):
    if cpu:
        t.mm.write(cpu, struct.pack("<I", cpunum.cpu_of(t)))
    if node:
        t.mm.write(node, struct.pack("<I", 0))
    return 0
