"""Memory system calls: brk, the mmap family, mprotect, mremap, madvise.

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

from .errors import KernelError, E
from .mm import (MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED,
                 MREMAP_FIXED, MREMAP_MAYMOVE, PAGE, PROT_EXEC, PROT_READ, PROT_WRITE, MappedFile,
                 page_up)
from .hostmem import resident
from .registry import syscall

PROT_SEM = 0x8
PROT_MASK = 7 | PROT_SEM | 0x01000000 | 0x02000000   # PROT_GROWSDOWN/UP accepted, ignored
MAP_SHARED_VALIDATE = 0x03
MREMAP_DONTUNMAP = 4
O_PATH = 0o10000000
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


def _host_value(path, default):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return default


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
MMAP_MIN_ADDR = _host_value("/proc/sys/vm/mmap_min_addr", 4096)
HINT_MIN_ADDR = max(page_up(MMAP_MIN_ADDR), 0x10000)
RAWIO = _has_rawio()


def _privileged(t):
    return RAWIO


def _accountable(prot, kind, anon):
    # Private writable memory and shared anonymous memory are charged.
    return (kind != MAP_SHARED and prot & PROT_WRITE) or (anon and kind == MAP_SHARED)


COMPAT_TASK_SIZE = 0xFFFFE000
MAP_32BIT = 0x40


def _compat_limit(t):
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
        if addr < MMAP_MIN_ADDR and not _privileged(t):
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
            start = mm.find_free(size, hint, _compat_limit(t))
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


MAP_32BIT = 0x40
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
    _set_locked(t.mm, addr, page_up(addr + length), False)
    return 0


@syscall("mprotect", "addr size prot")
def sys_mprotect(t, addr, length, prot):
    if addr & (PAGE - 1) or prot & ~PROT_MASK:
        raise KernelError(E.EINVAL)
    if length == 0:
        return 0
    end = addr + _page_align(length)
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


def _grow(t, v, at, length, offset):
    """Map [at, at+length) as more of v's mapping (file offset offset)."""
    mm = t.mm
    if v.file is not None:
        mm.map_file(at, length, v.prot, v.shared, v.file, offset, name=v.name, dev=v.dev,
                    ino=v.ino)
    elif v.shared:
        mm.grow_shared(v, at, length)
    else:
        mm.map(at, length, v.prot, shared=v.shared, name=v.name,
               anon_off=v.anon_off + (at - v.start))


def _move(t, old, old_len, new_len, dest):
    """Move [old, old+old_len) to dest (free by now) as new_len bytes: the
    pages themselves move (no copy); growth is more of the last piece. The
    commit check comes first: a refused move leaves the original alone."""
    mm = t.mm
    keep = min(old_len, new_len)
    tmpl = mm.find(old + keep - 1)
    grow = new_len - keep if tmpl.charge() else 0
    if grow:
        mm.check_commit(old + keep, old + old_len, grow)
    mm.unmap(old + keep, old_len - keep)
    mm.move(old, keep, dest)
    if new_len > keep:
        tmpl = mm.find(dest + keep - 1)
        _grow(t, tmpl, dest + keep, new_len - keep,
              tmpl.offset + (dest + keep - tmpl.start))
    return dest


def _page_align(n):
    """PAGE_ALIGN in the kernel's 64-bit arithmetic (a huge length wraps)."""
    return page_up(n) & ((1 << 64) - 1)


@syscall("mremap", "addr size size mflags addr")
def sys_mremap(t, old, old_len, new_len, flags, new_addr):
    # The order of mm/mremap.c: check_mremap_params, then the VMA at old,
    # then mremap_to (a new address) or mremap_at (in place, or moved).
    mm = t.mm
    if flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) or old & (PAGE - 1):
        raise KernelError(E.EINVAL)
    if _page_align(new_len) == 0:
        raise KernelError(E.EINVAL)
    to_new = flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)
    if to_new and (new_addr & (PAGE - 1) or not flags & MREMAP_MAYMOVE
                   or flags & MREMAP_DONTUNMAP and old_len != new_len):
        raise KernelError(E.EINVAL)
    old_len, new_len = _page_align(old_len), _page_align(new_len)
    if to_new and (new_len > mm.task_size or new_addr > mm.task_size - new_len
                   or new_addr < old + old_len and old < new_addr + new_len):
        raise KernelError(E.EINVAL)
    v = mm.find(old)
    if v is None:
        raise KernelError(E.EFAULT)
    if to_new:
        return _mremap_to(t, old, old_len, new_len, flags, new_addr)
    if new_len == old_len:
        return old
    if new_len < old_len:
        mm.unmap(old + new_len, old_len - new_len)
        return old
    _remap_valid(mm, v, old, old_len, new_len, flags)
    end = old + old_len
    if (end == mm.pieces_end(v) and end + (new_len - old_len) <= mm.task_size
            and not mm.overlaps(end, end + (new_len - old_len))):
        last = mm.find(end - 1)
        _grow(t, last, end, new_len - old_len, last.offset + (end - last.start))
        return old
    if not flags & MREMAP_MAYMOVE:
        raise KernelError(E.ENOMEM)
    dest = mm.find_free(new_len, 0, _compat_limit(t))
    return _move(t, old, old_len, new_len, dest)


def _remap_valid(mm, v, old, old_len, new_len, flags):
    """remap_is_valid: the range is one mapping, and may grow."""
    if not old_len and not v.shared:
        raise KernelError(E.EINVAL)     # "duplicating" a private mapping
    special = v.name in ("[vvar]", "[vdso]")
    if flags & MREMAP_DONTUNMAP and special:
        raise KernelError(E.EINVAL)
    if old + old_len > mm.pieces_end(v):
        raise KernelError(E.EFAULT)
    if new_len > old_len and special:
        raise KernelError(E.EFAULT)     # VM_DONTEXPAND


def _mremap_to(t, old, old_len, new_len, flags, new_addr):
    """A move to new_addr (MREMAP_FIXED) or away (MREMAP_DONTUNMAP). The
    part that moves is checked before the destination or the shrunk tail is
    unmapped: a refused call changes nothing (as on Linux 6.18)."""
    mm = t.mm
    v = mm.find(old)
    if flags & MREMAP_FIXED and new_addr < MMAP_MIN_ADDR and not _privileged(t):
        raise KernelError(E.EPERM)
    if (flags & MREMAP_FIXED and old_len == new_len and not flags & MREMAP_DONTUNMAP
            and old + old_len > mm.pieces_end(v)):
        return _move_many(mm, old, old_len, new_addr)
    _remap_valid(mm, v, old, min(old_len, new_len), new_len, flags)
    if flags & MREMAP_FIXED:
        mm.unmap(new_addr, new_len)
    if new_len < old_len:
        mm.unmap(old + new_len, old_len - new_len)
        old_len = new_len
    v = mm.find(old)
    if flags & MREMAP_FIXED:
        dest = new_addr
    else:
        dest = mm.find_free(new_len, new_addr, _compat_limit(t))
    if flags & MREMAP_DONTUNMAP:
        return _dontunmap(t, v, old, old_len, dest)
    return _move(t, old, old_len, new_len, dest)


def _move_many(mm, old, size, dest):
    """A pure move (MREMAP_FIXED, no resize) of a range holding several
    mappings, as Linux 6.17 permits: each moves to its place at dest, and
    the destination's gaps keep what was there."""
    for s, e in mm.mapped_ranges(old, old + size):
        mm.unmap(dest + (s - old), e - s)
        mm.move(s, e - s, dest + (s - old))
    return dest


def _dontunmap(t, v, old, old_len, dest):
    """MREMAP_DONTUNMAP: the pages move; the old range stays mapped, empty
    (a private file mapping's pages read from the file again)."""
    mm = t.mm
    if v.shared:
        raise KernelError(E.EINVAL)     # not modelled: a second view of shared memory
    mm.check_commit(dest, dest, mm.charge_in(old, old + old_len))
    pieces = [(p.start, p.end, p.prot, p.name, p.file, p.offset, p.dev, p.ino)
              for p in mm.vmas if p.start < old + old_len and p.end > old]
    mm.move(old, old_len, dest)
    for start, end, prot, name, f, offset, dev, ino in pieces:
        s, e = max(start, old), min(end, old + old_len)
        if f is not None:
            mm.map_file(s, e - s, prot, False, f, offset + (s - start), name=name, dev=dev,
                        ino=ino)
        else:
            mm.map(s, e - s, prot, name=name)
    return dest


MADV_DONTNEED, MADV_FREE, MADV_DONTNEED_LOCKED = 4, 8, 24
MADV_REMOVE, MADV_WIPEONFORK, MADV_COLD, MADV_PAGEOUT = 9, 18, 20, 21
MADV_DODUMP = 17
MADV_VALID = frozenset(list(range(0, 5)) + list(range(8, 26)) + [100, 101, 102, 103])


@syscall("madvise", "addr size int")
def sys_madvise(t, addr, length, advice):
    if addr & (PAGE - 1) or advice not in MADV_VALID:
        raise KernelError(E.EINVAL)
    # The kernel's own 64-bit arithmetic: a length that rounds up to 0, or
    # an end past the top of the address space, is EINVAL.
    size = page_up(length)
    if (length and size >= 1 << 64) or addr + size >= 1 << 64:
        raise KernelError(E.EINVAL)
    end = addr + size
    if end == addr:
        return 0
    mm = t.mm
    covered = 0
    v = mm.find(addr) or _next_vma(mm, addr)
    while v is not None and v.start < end:
        s, e = max(v.start, addr), min(v.end, end)
        covered += e - s
        # Each mapping is judged in turn, what came before it done.
        _madvise_refuses(mm, v, s, e, advice)
        if advice in (MADV_DONTNEED, MADV_DONTNEED_LOCKED):
            mm.discard(s, e - s)
        v = _next_vma(mm, v.end)
    if covered < end - addr:
        raise KernelError(E.ENOMEM)
    return 0


def _locked(mm, s, e):
    locked = getattr(mm, "locked", None)
    return bool(locked) and any(ls < e and s < le for ls, le in locked)


def _madvise_refuses(mm, v, s, e, advice):
    """madvise_vma_behavior's refusals for one mapping (EINVAL unless said):
    VM_LOCKED (mlock) and VM_PFNMAP ([vvar]) refuse the LRU advice, MADV_FREE
    wants anonymous memory, MADV_WIPEONFORK private anonymous memory,
    MADV_REMOVE an unlocked shared file mapping that may be written."""
    pfnmap = v.name == "[vvar]"
    if advice in (MADV_DONTNEED, MADV_FREE, MADV_COLD, MADV_PAGEOUT):
        if pfnmap or _locked(mm, s, e):
            raise KernelError(E.EINVAL)
    if advice == MADV_DONTNEED_LOCKED and pfnmap:
        raise KernelError(E.EINVAL)
    if advice == MADV_FREE and (v.file is not None or v.shared):
        raise KernelError(E.EINVAL)
    if advice == MADV_WIPEONFORK and (v.file is not None or v.shared):
        raise KernelError(E.EINVAL)
    if advice == MADV_REMOVE:
        if _locked(mm, s, e) or v.file is None and not v.shared:
            raise KernelError(E.EINVAL)
        if not v.shared or (v.file is not None and not v.file.writable):
            raise KernelError(E.EACCES)
    if advice == MADV_DODUMP and pfnmap:
        raise KernelError(E.EINVAL)


def _next_vma(mm, addr):
    """The first VMA starting at or after addr."""
    i = bisect.bisect_left(mm.starts, addr)
    return mm.vmas[i] if i < len(mm.vmas) else None


MS_ASYNC, MS_INVALIDATE, MS_SYNC = 1, 2, 4


def _covered(mm, addr, length):
    """[addr, end) page-aligned, or ENOMEM where part of it is unmapped."""
    if addr & (PAGE - 1):
        raise KernelError(E.EINVAL)
    end = addr + _page_align(length)
    if end >= 1 << 64:
        raise KernelError(E.ENOMEM)
    if sum(e - s for s, e in mm.mapped_ranges(addr, end)) < end - addr:
        raise KernelError(E.ENOMEM)
    return end


@syscall("msync", "addr size int")
def sys_msync(t, addr, length, flags):
    if flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC) or (flags & MS_ASYNC and flags & MS_SYNC):
        raise KernelError(E.EINVAL)
    _covered(t.mm, addr, length)
    # Shared file pages are the host's own mapping: the file already has them.
    return 0


_RESIDENT = bytes(b & 1 for b in range(256))   # mincore's bit 0; the others are reserved


@syscall("mincore", "addr size ptr")
def sys_mincore(t, addr, length, vec):
    mm = t.mm
    end = _covered(mm, addr, length)
    if mm.extent(vec, (end - addr) // PAGE, PROT_WRITE) < (end - addr) // PAGE:
        raise KernelError(E.EFAULT)
    # The host's own answer for the host pages behind each piece, a bounded
    # vector at a time (a reservation of terabytes costs no more).
    at = addr
    while at < end:
        v = mm.find(at)
        stop = min(v.end, end, at + (256 << 20))
        n = (stop - at) // PAGE
        out = resident(v.ptr + (at - v.start), stop - at) if v.backed else bytes(n)
        mm.write(vec + (at - addr) // PAGE, out.translate(_RESIDENT))
        at = stop
    return 0


@syscall("mlock", "addr size")
def sys_mlock(t, addr, length):
    start = addr & ~(PAGE - 1)
    end = _covered(t.mm, start, length + (addr & (PAGE - 1)))
    _set_locked(t.mm, start, end, True)
    return 0


def _set_locked(mm, start, end, on):
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


@syscall("mlock2", "addr size flags")
def sys_mlock2(t, addr, length, flags):
    if flags & ~1:
        raise KernelError(E.EINVAL)
    return sys_mlock(t, addr, length)


@syscall("munlock", "addr size")
def sys_munlock(t, addr, length):
    start = addr & ~(PAGE - 1)
    end = _covered(t.mm, start, length + (addr & (PAGE - 1)))
    _set_locked(t.mm, start, end, False)
    return 0


@syscall("mlockall", "flags")
def sys_mlockall(t, flags):
    if not flags or flags & ~7 or flags == 4:
        raise KernelError(E.EINVAL)
    if flags & 1:           # MCL_CURRENT
        for v in list(t.mm.vmas):
            _set_locked(t.mm, v.start, v.end, True)
    return 0


@syscall("munlockall")
def sys_munlockall(t):
    t.mm.locked = []
    return 0
