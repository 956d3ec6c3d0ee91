"""times: the CPU time of the process and of its waited-for children, in
clock ticks, and the ticks since an arbitrary point (the host's). The
guest's process is the host process, so the host's accounting is the
guest's (sysgate's own work on its behalf included, as a kernel's
system time is the process's)."""
import ctypes
import struct

from .hostlibc import libc
from .registry import syscall

libc.times.restype = ctypes.c_long


@syscall("times", "ptr")
def sys_times(t, buf):
    tms = (ctypes.c_long * 4)()
    ticks = libc.times(tms)
    if buf:
        fmt = "<4q" if t.is64 else "<4i"
        mask = (1 << (64 if t.is64 else 32)) - 1
        vals = [v & mask for v in tms]
        t.mm.write(buf, struct.pack(fmt.upper(), *vals))
    return ticks
