"""Loading CS, SS, DS and ES as IRET and the kernel's loadsegment do.

In 64-bit mode Unicorn's reg_write sets only the selector of CS, SS, DS and
ES, not the descriptor cache behind it (base, limit, attributes) nor the
CPU mode that CS and SS decide (16-, 32- or 64-bit code, 16- or 32-bit
stack). A return to user mode with new segments (sigreturn into an LDT
code or stack segment, into compat mode) must load them for real: the
caches and QEMU's hflags are written into a context image of the CPU, as
cpu_x86_load_seg_cache would leave them. The caller has checked that the
CPU would take each selector (kernel.sigframe.iret_fault).
"""
import ctypes
import struct

from unicorn import Uc, UC_ARCH_X86, UC_MODE_64
from unicorn import x86_const as X

R_ES, R_CS, R_SS, R_DS = 0, 1, 2, 3
SEG_INDEX = {"es": R_ES, "cs": R_CS, "ss": R_SS, "ds": R_DS}
SEGMENT_CACHE = 24          # selector u32, (pad), base u64, limit u32, flags u32
HF_CPL_MASK, HF_CS32, HF_SS32, HF_ADDSEG = 3, 1 << 4, 1 << 5, 1 << 6
HF_LMA, HF_CS64 = 1 << 14, 1 << 15
DESC_B, DESC_L, DESC_G = 1 << 22, 1 << 21, 1 << 23
_MAGIC = 0x1122334455667788
_layout = []


def _find_layout():
    """(offset of segs[0], offset of hflags) in a context image: found from
    a known FS base, checked against CS's selector written the same way."""
    if not _layout:
        uc = Uc(UC_ARCH_X86, UC_MODE_64)
        uc.reg_write(X.UC_X86_REG_FS_BASE, _MAGIC)
        uc.reg_write(X.UC_X86_REG_CS, 0x1233)
        ctx = uc.context_save()
        image = ctypes.string_at(ctypes.cast(ctx.context, ctypes.c_void_p).value, ctx.size)
        at = image.find(struct.pack("<Q", _MAGIC))
        segs = at - 8 - 4 * SEGMENT_CACHE
        ok = at > 0 and struct.unpack_from("<I", image, segs + R_CS * SEGMENT_CACHE)[0] == 0x1233
        _layout.append((segs, segs - 8) if ok else None)
    return _layout[0]


def cache_of(raw):
    """(base, limit, flags) of a descriptor, as load_segment reads it."""
    e1, e2 = struct.unpack("<II", raw)
    base = (e1 >> 16) | ((e2 & 0xFF) << 16) | (e2 & 0xFF000000)
    limit = (e1 & 0xFFFF) | (e2 & 0x000F0000)
    if e2 & DESC_G:
        limit = (limit << 12) | 0xFFF
    return base, limit, e2


def load(uc, loads):
    """loads: {seg name: (selector, raw descriptor or None for null)}.
    False if this Unicorn's layout was not recognised (nothing done)."""
    layout = _find_layout()
    if layout is None:
        return False
    segs, hflags_at = layout
    ctx = uc.context_save()
    addr = ctypes.cast(ctx.context, ctypes.c_void_p).value
    for name, (sel, raw) in loads.items():
        base, limit, flags = cache_of(raw) if raw is not None else (0, 0, 0)
        ctypes.memmove(addr + segs + SEG_INDEX[name] * SEGMENT_CACHE,
                       struct.pack("<IIQII", sel, 0, base, limit, flags), 24)
    image = ctypes.string_at(addr + segs, 4 * SEGMENT_CACHE)
    cache = {i: struct.unpack_from("<IIQII", image, i * SEGMENT_CACHE) for i in range(4)}
    hflags = struct.unpack("<I", ctypes.string_at(addr + hflags_at, 4))[0]
    cs_flags, ss_flags = cache[R_CS][4], cache[R_SS][4]
    if hflags & HF_LMA and cs_flags & DESC_L:
        hflags |= HF_CS32 | HF_SS32 | HF_CS64
    else:
        hflags = (hflags & ~(HF_CS32 | HF_CS64)) | (HF_CS32 if cs_flags & DESC_B else 0)
    hflags = (hflags & ~HF_CPL_MASK) | ((ss_flags >> 13) & 3)
    new = HF_SS32 if ss_flags & DESC_B else 0
    if not hflags & HF_CS64:
        if not hflags & HF_CS32:
            new |= HF_ADDSEG
        elif cache[R_DS][2] | cache[R_ES][2] | cache[R_SS][2]:
            new |= HF_ADDSEG
    hflags = (hflags & ~(HF_SS32 | HF_ADDSEG)) | new
    ctypes.memmove(addr + hflags_at, struct.pack("<I", hflags), 4)
    uc.context_restore(ctx)
    return True
