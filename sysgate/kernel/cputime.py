"""times: the CPU time of the process and of its waited-for children, in
clock ticks, and the ticks since an arbitrary point (the host's). The
guest's process is the host process, so the host's accounting is the
guest's (sysgate's own work on its behalf included, as a kernel's
system time is the process's)."""
import ctypes

from ..abi.structs import write_cut
from .hostlibc import libc
from .registry import syscall

libc.times.restype = ctypes.c_long


@syscall("times", "ptr")
def sys_times(t, buf):
    tms = (ctypes.c_long * 4)()
    ticks = libc.times(tms)
    if buf:
        write_cut(t, buf, "tms", *tms)
    return ticks
