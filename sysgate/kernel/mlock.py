"""mlock and its family (mm/mlock.c): the ranges are kept as VM_LOCKED for
madvise's refusals; host memory itself is not locked."""
from .errors import KernelError, E
from .mm import PAGE
from .mmap import covered, set_locked
from .registry import syscall


@syscall("mlock", "addr size", on=True)
@syscall("munlock", "addr size", on=False)
def sys_mlock(t, addr, length, on):
    start = addr & ~(PAGE - 1)
    end = covered(t.mm, start, length + (addr & (PAGE - 1)))
    set_locked(t.mm, start, end, on)
    return 0


@syscall("mlock2", "addr size flags")
def sys_mlock2(t, addr, length, flags):
    if flags & ~1:
        raise KernelError(E.EINVAL)
    return sys_mlock(t, addr, length, True)


@syscall("mlockall", "flags")
def sys_mlockall(t, flags):
    if not flags or flags & ~7 or flags == 4:
        raise KernelError(E.EINVAL)
    if flags & 1:           # MCL_CURRENT
        for v in list(t.mm.vmas):
            set_locked(t.mm, v.start, v.end, True)
    return 0


@syscall("munlockall")
def sys_munlockall(t):
    t.mm.locked = []
    return 0
