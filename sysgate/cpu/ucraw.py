"""libunicorn's calls through ctypes, for the hot paths: hooks, register
batches, memory reads and writes."""
import ctypes

from unicorn.unicorn_py3.unicorn import uclib as _lib

# The gate hooks and their register traffic are the hot path of every system
# call; the Python binding's wrappers cost several times the C call they
# wrap, so these go to libunicorn directly through ctypes.
_HOOK_INSN_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
_HOOK_CPUID_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
_HOOK_INTR_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p)


class _TlbEntry(ctypes.Structure):
    _fields_ = [("paddr", ctypes.c_uint64), ("perms", ctypes.c_uint32)]


_HOOK_TLB_FILL_CB = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int,
                                     ctypes.POINTER(_TlbEntry), ctypes.c_void_p)
_uc_hook_add = _lib.uc_hook_add
_U32 = ctypes.c_uint32.from_address
_NO_REGION = (1, 0, 0)
_uc_reg_read_batch = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                      ctypes.c_void_p, ctypes.c_int)(("uc_reg_read_batch", _lib))
_uc_mem_read = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_void_p,
                                ctypes.c_size_t)(("uc_mem_read", _lib))
_uc_mem_write = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_char_p,
                                 ctypes.c_size_t)(("uc_mem_write", _lib))
_uc_reg_write_batch = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                       ctypes.c_void_p, ctypes.c_int)(("uc_reg_write_batch", _lib))


class _Quick(ctypes._CFuncPtr):
    """A C call that never blocks, made the cheapest way ctypes has: the
    GIL kept (no release and retake around a few hundred nanoseconds of C)
    and no argtypes (the caller passes ctypes objects built once, so no
    argument is converted per call). About 300 ns against 500 ns for a
    CFUNCTYPE prototype in a loop of its own, and more than 1 us saved
    inside a hook: what stays a C call on the gate's path (RFLAGS without
    regbatch's SYSCALL saves hook, RegBatch where RegFile is not found)."""
    _flags_ = ctypes._FUNCFLAG_CDECL | ctypes._FUNCFLAG_PYTHONAPI
    _restype_ = ctypes.c_int


_uc_reg_read_batch_q = _Quick(("uc_reg_read_batch", _lib))
_uc_reg_write_batch_q = _Quick(("uc_reg_write_batch", _lib))
_uc_reg_read_q = _Quick(("uc_reg_read", _lib))

# The host process's own memory as bytes, indexed by host address (the
# user half of an x86-64 address space): a struct's pack_into at an
# address the caller has checked is a store with no C call through ctypes
# (guest memory is host memory the CPU maps: uc_mem_map_ptr).
try:
    HOST_MEMORY = memoryview((ctypes.c_char * (1 << 47)).from_address(0)).cast("B")
except (ValueError, OverflowError, TypeError):
    HOST_MEMORY = None

_CODE_PAGES = {}


def code_page(code):
    """The address of code (x86-64 machine code) in an executable page of
    its own, made once per process and kept: a hook Unicorn calls without
    entering Python (cpu.regbatch's SYSCALL saves)."""
    addr = _CODE_PAGES.get(code)
    if addr is None:
        import mmap
        page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        page.write(code)
        addr = ctypes.addressof(ctypes.c_char.from_buffer(page))
        _CODE_PAGES[code] = addr
        _CODE_PAGES[addr] = page        # kept mapped for the process's life
    return addr
