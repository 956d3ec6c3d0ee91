"""ioperm and iopl: user-mode port I/O, as arch/x86/kernel/ioport.c (5.5+).

Each thread has an I/O permission bitmap (ioperm) and an emulated I/O
privilege level (iopl): level 3 permits every port, as Linux emulates it
with a full bitmap, while EFLAGS.IOPL stays 0 so CLI and STI remain #GP.
Raising either needs CAP_SYS_RAWIO, the guest's own (its host thread's). A
child inherits both at fork and clone; execve keeps them. There are no
devices behind the ports: an allowed IN reads all ones (a floating bus), an
allowed OUT goes nowhere; a refused one is #GP, SIGSEGV, as before.

A kernel built without CONFIG_X86_IOPL_IOPERM answers ENOSYS to both; so
does sysgate where the host's kernel does, so that a program sees what it
would see run natively on the same machine.
"""
import ctypes

from .errors import KernelError, E
from .hostlibc import libc
from .registry import syscall

IO_BITMAP_BITS = 65536
CAP_SYS_RAWIO = 17
_HOST = []


def _host_supported():
    """Whether the host kernel has ioperm at all: dropping a permission
    nobody holds is allowed to anyone, and ENOSYS only without it."""
    if not _HOST:
        r = libc.syscall(ctypes.c_long(173), ctypes.c_ulong(0x80), ctypes.c_ulong(1),
                         ctypes.c_int(0))      # x86-64 ioperm
        _HOST.append(r == 0 or ctypes.get_errno() != E.ENOSYS)
    return _HOST[0]


def _capable_rawio():
    hdr = (ctypes.c_uint32 * 2)(0x20080522, 0)
    data = (ctypes.c_uint32 * 6)()
    if libc.syscall(ctypes.c_long(125), hdr, data) != 0:       # capget
        return False
    return bool(data[0] >> CAP_SYS_RAWIO & 1)


def port_allowed(t, port, size):
    """Whether thread t may access size ports from port."""
    if getattr(t, "iopl_emul", 0) == 3:
        return True
    bits = getattr(t, "io_bitmap", 0)
    want = ((1 << size) - 1) << port
    return port + size <= IO_BITMAP_BITS and bits & want == want


def install(t):
    """Let the CPU ask about this thread's ports (it faults every IN/OUT
    until then); after exec, on the new CPU."""
    if getattr(t, "io_bitmap", 0) or getattr(t, "iopl_emul", 0) == 3:
        t.thread.cpu.port_allowed = lambda port, size: port_allowed(t.running(), port, size)


@syscall("ioperm", "ulong ulong int")
def sys_ioperm(t, start, num, turn_on):
    if not _host_supported():
        raise KernelError(E.ENOSYS)
    if start + num <= start or start + num > IO_BITMAP_BITS:
        raise KernelError(E.EINVAL)
    if turn_on and not _capable_rawio():
        raise KernelError(E.EPERM)
    mask = ((1 << num) - 1) << start
    bits = getattr(t, "io_bitmap", 0)
    t.io_bitmap = bits | mask if turn_on else bits & ~mask
    install(t)
    return 0


@syscall("iopl", "uint")
def sys_iopl(t, level):
    if not _host_supported():
        raise KernelError(E.ENOSYS)
    if level > 3:
        raise KernelError(E.EINVAL)
    old = getattr(t, "iopl_emul", 0)
    if level == old:
        return 0
    if level > old and not _capable_rawio():
        raise KernelError(E.EPERM)
    t.iopl_emul = level
    install(t)
    return 0
