"""Advice on mapped pages and questions about them: madvise (mm/madvise.c),
msync and mincore."""
from ..abi.consts import (MADV_COLD, MADV_DODUMP, MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_FREE,
                          MADV_PAGEOUT, MADV_REMOVE, MADV_WIPEONFORK)
from .errors import KernelError, E
from .hostmem import resident
from .mm import PAGE, PROT_WRITE, page_up
from .mmap import any_locked, covered, next_vma
from .registry import syscall


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
    v = mm.find(addr) or next_vma(mm, addr)
    while v is not None and v.start < end:
        s, e = max(v.start, addr), min(v.end, end)
        covered += e - s
        # Each mapping is judged in turn, what came before it done.
        _madvise_refuses(mm, v, s, e, advice)
        if advice in (MADV_DONTNEED, MADV_DONTNEED_LOCKED):
            mm.discard(s, e - s)
        v = next_vma(mm, v.end)
    if covered < end - addr:
        raise KernelError(E.ENOMEM)
    return 0


def _madvise_refuses(mm, v, s, e, advice):
    """madvise_vma_behavior's refusals for one mapping (EINVAL unless said):
    VM_LOCKED (mlock) and VM_PFNMAP ([vvar]) refuse the LRU advice, MADV_FREE
    wants anonymous memory, MADV_WIPEONFORK private anonymous memory,
    MADV_REMOVE an unlocked shared file mapping that may be written."""
    pfnmap = v.name == "[vvar]"
    if advice in (MADV_DONTNEED, MADV_FREE, MADV_COLD, MADV_PAGEOUT):
        if pfnmap or any_locked(mm, s, e):
            raise KernelError(E.EINVAL)
    if advice == MADV_DONTNEED_LOCKED and pfnmap:
        raise KernelError(E.EINVAL)
    if advice == MADV_FREE and (v.file is not None or v.shared):
        raise KernelError(E.EINVAL)
    if advice == MADV_WIPEONFORK and (v.file is not None or v.shared):
        raise KernelError(E.EINVAL)
    if advice == MADV_REMOVE:
        if any_locked(mm, s, e) or v.file is None and not v.shared:
            raise KernelError(E.EINVAL)
        if not v.shared or (v.file is not None and not v.file.writable):
            raise KernelError(E.EACCES)
    if advice == MADV_DODUMP and pfnmap:
        raise KernelError(E.EINVAL)


MS_ASYNC, MS_INVALIDATE, MS_SYNC = 1, 2, 4


@syscall("msync", "addr size int")
def sys_msync(t, addr, length, flags):
    if flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC) or (flags & MS_ASYNC and flags & MS_SYNC):
        raise KernelError(E.EINVAL)
    covered(t.mm, addr, length)
    # Shared file pages are the host's own mapping: the file already has them.
    return 0


_RESIDENT = bytes(b & 1 for b in range(256))   # mincore's bit 0; the others are reserved


@syscall("mincore", "addr size ptr")
def sys_mincore(t, addr, length, vec):
    mm = t.mm
    end = covered(mm, addr, length)
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
