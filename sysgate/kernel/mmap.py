"""Memory system calls: brk, the mmap family, munmap, mprotect (mremap.py,
madvise.py and mlock.py hold the rest), and the walks over ranges of
mappings they share.

Private file mappings are copies of the file taken at mmap time (the file
stays open for mremap and MADV_DONTNEED to read again). Shared file
mappings are the host's own shared mapping of the file, handed to the CPU as
its memory, so stores reach the file and read(2) sees them at once. Pages
wholly past the end of the file are SIGBUS (AddressSpace.map_file)."""
import bisect
import fcntl
import os
import stat
import struct

from ..abi.consts import (MAP_32BIT, MAP_SHARED_VALIDATE, O_PATH, PROT_GROWSDOWN,
                          PROT_GROWSUP, PROT_SEM)
from ..loader.image import host_number
from .errors import KernelError, E
from .mm import (MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED, PAGE,
                 PROT_EXEC, PROT_WRITE, MappedFile, page_up)
from .registry import syscall

PROT_MASK = 7 | PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP   # GROWSDOWN/UP accepted, ignored
DEV_ZERO = os.makedev(1, 5)


def _commit_limit():
    """RAM + swap: Linux's heuristic overcommit refuses one mapping larger."""
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    swap = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("SwapTotal:"):
                    swap = int(line.split()[1]) * 1024
    except OSError:
        pass
    return ram + swap


COMMIT_LIMIT = _commit_limit()


def _has_rawio():
    """Whether sysgate (so the guest, whose credentials are its own) holds
    CAP_SYS_RAWIO, which lets mmap go below mmap_min_addr."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> 17 & 1)
    except (OSError, ValueError):
        pass
    return False


# The host's vm.mmap_min_addr: MAP_FIXED below it is EPERM (cap_mmap_addr).
# A hint below the LSMs' own minimum (65536 on common kernels) rounds up to
# it, as round_hint_to_min does.
MMAP_MIN_ADDR = host_number("/proc/sys/vm/mmap_min_addr", 4096)
HINT_MIN_ADDR = max(page_up(MMAP_MIN_ADDR), 0x10000)
RAWIO = _has_rawio()


def may_map_low(t):
    return RAWIO


def _accountable(prot, kind, anon):
    # Private writable memory and shared anonymous memory are charged.
    return (kind != MAP_SHARED and prot & PROT_WRITE) or (anon and kind == MAP_SHARED)


COMPAT_TASK_SIZE = 0xFFFFE000


def compat_limit(t):
    """Where an i386 call's mapping must end: a 64-bit process asking
    through INT 0x80 gets an address below 4 GiB (Linux's compat mmap base,
    in_32bit_syscall)."""
    return COMPAT_TASK_SIZE if not t.is64 and t.mm.task_size > 1 << 32 else None


@syscall("brk", "addr")
def sys_brk(t, addr):
    mm = t.mm
    if addr < mm.brk_start:
        return mm.brk_cur
    old_end, new_end = page_up(mm.brk_cur), page_up(addr)
    if new_end > old_end:
        # The heap keeps a guard page below the next mapping.
        if (mm.overlaps(old_end, new_end + PAGE) or new_end > mm.mmap_base
                or new_end - old_end > COMMIT_LIMIT):
            return mm.brk_cur
        try:
            mm.map(old_end, new_end - old_end, 3, name="[heap]")
        except KernelError:
            return mm.brk_cur
    elif new_end < old_end:
        mm.unmap(new_end, old_end - new_end)
    mm.brk_cur = addr
    return addr


def do_mmap(t, addr, length, prot, flags, fd, pgoff_bytes):
    mm = t.mm
    anon = bool(flags & MAP_ANONYMOUS)
    f = None if anon else t.files.get(fd)
    if length == 0:
        raise KernelError(E.EINVAL)
    if prot & ~PROT_MASK:
        raise KernelError(E.EINVAL)
    size = page_up(length)
    if size > mm.task_size or size == 0:
        raise KernelError(E.ENOMEM)
    kind = flags & 0xF
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        if addr & (PAGE - 1):
            raise KernelError(E.EINVAL)
        if addr + size > mm.task_size:
            raise KernelError(E.ENOMEM)
        if addr < MMAP_MIN_ADDR and not may_map_low(t):
            raise KernelError(E.EPERM)
        if flags & MAP_FIXED_NOREPLACE and mm.overlaps(addr, addr + size):
            raise KernelError(E.EEXIST)
        start = addr
    else:
        start = None
    prot &= 7
    mf = st = None
    if f is not None:
        fl = fcntl.fcntl(f.host, fcntl.F_GETFL)
        if fl & O_PATH:
            raise KernelError(E.EBADF)
        acc = fl & 3
        if kind not in (MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE):
            raise KernelError(E.EINVAL)
        if kind != MAP_PRIVATE and prot & PROT_WRITE and acc != os.O_RDWR:
            raise KernelError(E.EACCES)
        if acc == os.O_WRONLY:
            raise KernelError(E.EACCES)
        st = os.fstat(f.host)
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == DEV_ZERO:
            anon = True            # /dev/zero maps as anonymous memory
        elif not stat.S_ISREG(st.st_mode):
            raise KernelError(E.ENODEV)
        else:
            mf = MappedFile(os.dup(f.host), acc == os.O_RDWR, origin=f)
    elif kind not in (MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE):
        raise KernelError(E.EINVAL)
    shared = kind != MAP_PRIVATE
    if _accountable(prot, kind, anon) and size > COMMIT_LIMIT:
        raise KernelError(E.ENOMEM)
    if _accountable(prot, kind, anon):
        # All of it at once (a file mapping is mapped in pieces).
        lo = start or 0
        mm.check_commit(lo, lo if start is None else lo + size, size)
    if start is None:
        hint = addr & ~(PAGE - 1)
        if hint and hint < HINT_MIN_ADDR:
            hint = HINT_MIN_ADDR
        if flags & MAP_32BIT and t.is64:
            start = _find_free_32bit(mm, size, hint)
        else:
            start = mm.find_free(size, hint, compat_limit(t))
    if mf is not None:
        from .fs.lookup import fd_path
        mm.map_file(start, size, prot, shared, mf, pgoff_bytes, name=fd_path(t, f),
                    dev=st.st_dev, ino=st.st_ino)
    elif shared:
        mm.map_shared_anon(start, size, prot)
        if f is not None and acc != os.O_RDWR:
            # /dev/zero opened read-only: no VM_MAYWRITE, so mprotect can
            # never make it writable (EACCES).
            mm.find(start).hold.no_maywrite = True
    else:
        mm.map(start, size, prot)
    return start


MAP_32BIT_BEGIN, MAP_32BIT_END = 0x40000000, 0x80000000


def _find_free_32bit(mm, size, hint):
    """MAP_32BIT from 64-bit code: bottom-up in [1 GiB, 2 GiB), as
    arch_get_unmapped_area's find_start_end has it (unrandomized here)."""
    if hint and hint + size <= MAP_32BIT_END and not mm.overlaps(hint, hint + size):
        return hint
    at = MAP_32BIT_BEGIN
    for v in mm.vmas:
        if v.end <= at:
            continue
        if v.start >= at + size:
            break
        at = v.end
    if at + size > MAP_32BIT_END:
        raise KernelError(E.ENOMEM)
    return at


@syscall("mmap", "addr size prot mflags fd off")
def sys_mmap(t, addr, length, prot, flags, fd, off):
    if off & (PAGE - 1):
        raise KernelError(E.EINVAL)
    return do_mmap(t, addr, length, prot, flags, fd, off)


@syscall("mmap2", "addr size prot mflags fd ulong")
def sys_mmap2(t, addr, length, prot, flags, fd, pgoff):
    return do_mmap(t, addr, length, prot, flags, fd, pgoff * PAGE)


@syscall("old_mmap i386:mmap", "ptr")
def sys_old_mmap(t, args):
    addr, length, prot, flags, fd, off = struct.unpack("<6I", t.mm.read(args, 24))
    if off & (PAGE - 1):
        raise KernelError(E.EINVAL)
    return do_mmap(t, addr, length, prot, flags, fd - (1 << 32) if fd >> 31 else fd, off)


@syscall("munmap", "addr size")
def sys_munmap(t, addr, length):
    if addr & (PAGE - 1) or length == 0 or addr + length > t.mm.task_size:
        raise KernelError(E.EINVAL)
    t.mm.check_count(addr, page_up(addr + length))     # a split makes one more
    t.mm.unmap(addr, length)
    set_locked(t.mm, addr, page_up(addr + length), False)
    return 0


@syscall("mprotect", "addr size prot")
def sys_mprotect(t, addr, length, prot):
    if addr & (PAGE - 1) or prot & ~PROT_MASK:
        raise KernelError(E.EINVAL)
    if length == 0:
        return 0
    end = addr + page_align(length)
    if end <= addr or end >= 1 << 64:       # the kernel's sum wrapped
        raise KernelError(E.ENOMEM)

    def refuse(v):
        if prot & PROT_WRITE and v.shared and (
                v.file is not None and not v.file.writable
                or getattr(v.hold, "no_maywrite", False)):
            raise KernelError(E.EACCES)
        if prot & (PROT_WRITE | PROT_EXEC) and v.name == "[vvar]":
            # A special mapping without VM_MAYWRITE or VM_MAYEXEC.
            raise KernelError(E.EACCES)
    t.mm.protect(addr, length, prot & 7, refuse)
    return 0


# --- ranges of mappings, as mremap, madvise, msync, mincore and mlock see them
def page_align(n):
    """PAGE_ALIGN in the kernel's 64-bit arithmetic (a huge length wraps)."""
    return page_up(n) & ((1 << 64) - 1)


def next_vma(mm, addr):
    """The first VMA starting at or after addr."""
    i = bisect.bisect_left(mm.starts, addr)
    return mm.vmas[i] if i < len(mm.vmas) else None


def covered(mm, addr, length):
    """[addr, end) page-aligned, or ENOMEM where part of it is unmapped."""
    if addr & (PAGE - 1):
        raise KernelError(E.EINVAL)
    end = addr + page_align(length)
    if end >= 1 << 64:
        raise KernelError(E.ENOMEM)
    if sum(e - s for s, e in mm.mapped_ranges(addr, end)) < end - addr:
        raise KernelError(E.ENOMEM)
    return end


def any_locked(mm, s, e):
    locked = getattr(mm, "locked", None)
    return bool(locked) and any(ls < e and s < le for ls, le in locked)


def set_locked(mm, start, end, on):
    """The ranges mlock made VM_LOCKED (madvise's refusals read them)."""
    if start >= end:
        return
    kept = [(s, e) for s, e in getattr(mm, "locked", ()) if e <= start or s >= end]
    for s, e in getattr(mm, "locked", ()):
        if s < start < e:
            kept.append((s, start))
        if s < end < e:
            kept.append((end, e))
    if on:
        kept.append((start, end))
    mm.locked = sorted(kept)
