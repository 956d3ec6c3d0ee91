"""mremap: a mapping grows, shrinks or moves (mm/mremap.c); the pages
themselves move, never copied."""
from ..abi.consts import MREMAP_DONTUNMAP
from .errors import KernelError, E
from .mm import MREMAP_FIXED, MREMAP_MAYMOVE, PAGE
from .mmap import MMAP_MIN_ADDR, compat_limit, may_map_low, page_align
from .registry import syscall


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


@syscall("mremap", "addr size size mflags addr")
def sys_mremap(t, old, old_len, new_len, flags, new_addr):
    # The order of mm/mremap.c: check_mremap_params, then the VMA at old,
    # then mremap_to (a new address) or mremap_at (in place, or moved).
    mm = t.mm
    if flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) or old & (PAGE - 1):
        raise KernelError(E.EINVAL)
    if page_align(new_len) == 0:
        raise KernelError(E.EINVAL)
    to_new = flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)
    if to_new and (new_addr & (PAGE - 1) or not flags & MREMAP_MAYMOVE
                   or flags & MREMAP_DONTUNMAP and old_len != new_len):
        raise KernelError(E.EINVAL)
    old_len, new_len = page_align(old_len), page_align(new_len)
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
    dest = mm.find_free(new_len, 0, compat_limit(t))
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
    if flags & MREMAP_FIXED and new_addr < MMAP_MIN_ADDR and not may_map_low(t):
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
        dest = mm.find_free(new_len, new_addr, compat_limit(t))
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
