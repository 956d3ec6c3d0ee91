"""Registers by name, and a fixed list of them read or written in one C
call (the system-call path's register traffic)."""
import ctypes
import struct

from unicorn import x86_const as X

from .ucraw import _uc_reg_read_batch, _uc_reg_write_batch

# Register names the entry layer uses; values are Unicorn's ids.
REG = {n.lower(): getattr(X, "UC_X86_REG_" + n) for n in (
    "RAX RBX RCX RDX RSI RDI RBP RSP R8 R9 R10 R11 R12 R13 R14 R15 "
    "RIP EFLAGS CS SS DS ES FS GS FS_BASE GS_BASE").split()}


class RegBatch:
    """A fixed list of registers read or written in one C call. The values
    go through a memoryview of the C array: half the cost of slicing the
    ctypes array itself, on every system call."""

    def __init__(self, uch, ids):
        n = len(ids)
        self._ids = (ctypes.c_int * n)(*ids)
        self._vals = (ctypes.c_uint64 * n)()
        self._ptrs = (ctypes.c_void_p * n)(*[ctypes.addressof(self._vals) + 8 * i for i in range(n)])
        self._args = (uch, ctypes.addressof(self._ids), ctypes.addressof(self._ptrs), n)
        self._view = memoryview(self._vals).cast("B").cast("Q")
        self._bytes = memoryview(self._vals).cast("B")
        self._pack = struct.Struct(f"<{n}Q").pack_into

    def read(self):
        _uc_reg_read_batch(*self._args)
        return self._view.tolist()

    def write(self, values):
        self._pack(self._bytes, 0, *values)
        _uc_reg_write_batch(*self._args)
