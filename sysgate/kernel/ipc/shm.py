"""Shared memory segments: shmget, shmat, shmdt, shmctl (ipc/shm.c).

shmat is the host's shmat into sysgate's own address space, and that host
memory is what the guest's CPU maps at the guest's address (a shared
mapping, as mmap's MAP_SHARED ones are): stores are the segment's at
once, for every process attached, and a forked child (a forked host
process) keeps the attachment as Linux's fork does. The host attachment
goes (the host's shmdt) with the last piece of the guest's mapping: at
shmdt, munmap, exec or exit."""
import bisect
import ctypes

from ..errors import KernelError, E
from ..hostlibc import libc
from ..hostmem import HostMapping
from ..mm import PAGE, PROT_EXEC, PROT_READ, PROT_WRITE, page_up
from ..mmap import MMAP_MIN_ADDR, compat_limit, may_map_low, set_locked
from ..registry import syscall
from . import IPC_64, IPC_INFO, IPC_STAT
from . import check_available, host
from .layout import host_buffer, stat_set_or_bare, to_guest

SHM_RDONLY, SHM_RND, SHM_REMAP, SHM_EXEC = 0o10000, 0o20000, 0o40000, 0o100000
SHM_LOCK, SHM_UNLOCK, SHM_STAT, SHM_INFO, SHM_STAT_ANY = 11, 12, 13, 14, 15
SHMLBA = PAGE               # x86's, and COMPAT_SHMLBA

libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_int)
libc.shmdt.argtypes = (ctypes.c_void_p,)


class Attachment(HostMapping):
    """One host attachment of a segment in sysgate's address space, held
    by the guest VMAs that show it; detached (shmdt) with the last."""

    def __init__(self, shmid, flags):
        self.addr = self.length = 0
        self.released = []
        addr = libc.shmat(shmid, None, flags)
        if addr is None or addr == ctypes.c_void_p(-1).value:
            raise KernelError(ctypes.get_errno())
        self.addr = addr
        self.length, self.name, self.dev, self.ino = _host_view(addr)
        HostMapping.in_use += self.length

    def __del__(self):
        if self.addr:
            libc.shmdt(ctypes.c_void_p(self.addr))
            HostMapping.in_use -= self.length
            self.addr = 0


def _host_view(addr):
    """(size, name, dev, ino) of the host's mapping at addr, from its maps:
    Linux shows a segment as "/SYSV<key> (deleted)", its inode the id."""
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(maxsplit=5)
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if lo == addr:
                major, minor = (int(x, 16) for x in parts[3].split(":"))
                name = parts[5].rstrip("\n") if len(parts) > 5 else ""
                return hi - lo, name, major << 8 | minor, int(parts[4])
    raise KernelError(E.EINVAL)


@syscall("shmget", "int size int")
def sys_shmget(t, key, size, flags):
    check_available()
    return host("shmget", key, size, flags)


@syscall("shmat", "int addr int",
         note="an attached segment counts against --memory-limit, as shared memory does")
def sys_shmat(t, shmid, addr, flags):
    return do_shmat(t, shmid, addr, flags)


def do_shmat(t, shmid, addr, flags):
    """do_shmat: the checks of the address, the host's attachment (the
    segment's lookup and permissions), then the guest's mapping, where
    asked or where mmap would put it."""
    check_available()
    if shmid < 0:
        raise KernelError(E.EINVAL)
    if addr:
        if addr & (SHMLBA - 1):
            if not flags & SHM_RND:
                raise KernelError(E.EINVAL)
            addr &= ~(SHMLBA - 1)
            if not addr and flags & SHM_REMAP:
                raise KernelError(E.EINVAL)
    elif flags & SHM_REMAP:
        raise KernelError(E.EINVAL)
    prot = PROT_READ | (0 if flags & SHM_RDONLY else PROT_WRITE) | (
        PROT_EXEC if flags & SHM_EXEC else 0)
    hold = Attachment(shmid, flags & (SHM_RDONLY | SHM_EXEC))
    mm, size = t.mm, hold.length
    if addr:
        if not flags & SHM_REMAP and mm.overlaps(addr, addr + size):
            raise KernelError(E.EINVAL)
        if addr + size > mm.task_size:
            raise KernelError(E.ENOMEM)
        if addr < MMAP_MIN_ADDR and not may_map_low(t):
            raise KernelError(E.EPERM)
        start = addr
    else:
        start = mm.find_free(size, 0, compat_limit(t))
    if flags & SHM_RDONLY:
        hold.no_maywrite = True         # mprotect may not make it writable
    mm.map(start, size, prot, ptr=hold.addr, hold=hold, shared=True, name=hold.name,
           dev=hold.dev, ino=hold.ino)
    return start


def _attachment_at(v, addr):
    """Whether the VMA v is a piece of a segment attached at addr (its
    offset in the segment is its distance from addr, shmdt's test)."""
    return isinstance(v.hold, Attachment) and v.start - addr == v.ptr - v.hold.addr


@syscall("shmdt", "addr")
def sys_shmdt(t, addr):
    """ksys_shmdt: the first piece of a segment attached at addr, and every
    later piece of that attachment within the segment's size, go."""
    check_available()
    if addr & (PAGE - 1):
        raise KernelError(E.EINVAL)
    mm = t.mm
    i = max(bisect.bisect(mm.starts, addr) - 1, 0)
    later = [v for v in mm.vmas[i:] if v.end > addr]
    first = next((v for v in later if _attachment_at(v, addr)), None)
    if first is None:
        raise KernelError(E.EINVAL)
    hold, end = first.hold, addr + page_up(first.hold.length)
    gone = [first] + [v for v in later[later.index(first) + 1:]
                      if v.end <= end and v.hold is hold and _attachment_at(v, addr)]
    for v in gone:
        start, stop = v.start, v.end
        mm.unmap(start, stop - start)
        set_locked(mm, start, stop, False)
    return 0


@syscall("shmctl", "int int ptr")
def sys_shmctl(t, shmid, cmd, buf):
    check_available()
    if t.abi == "i386" and cmd & IPC_64:
        # compat_ksys_shmctl switches on the flagged cmd: nothing matches.
        raise KernelError(E.EINVAL)
    return do_shmctl(t, shmid, cmd, buf)


def do_shmctl(t, shmid, cmd, buf, old=False):
    """shmctl with cmd stripped of IPC_64; old: the multiplexer's old
    structures."""
    if shmid < 0 or cmd < 0:
        raise KernelError(E.EINVAL)
    if cmd == IPC_INFO:
        out = host_buffer("shminfo64")
        r = host("shmctl", shmid, cmd, out)
        t.mm.write(buf, to_guest(t, "shminfo64", out.raw, old))
        return r
    if cmd == SHM_INFO:
        out = host_buffer("shm_info")
        r = host("shmctl", shmid, cmd, out)
        t.mm.write(buf, to_guest(t, "shm_info", out.raw))
        return r
    def call(arg):
        return host("shmctl", shmid, cmd, arg)
    return stat_set_or_bare(t, call, cmd, (IPC_STAT, SHM_STAT, SHM_STAT_ANY), "shmid64_ds", buf,
                            old)
