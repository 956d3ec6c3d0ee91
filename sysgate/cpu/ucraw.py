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
