"""Fields of QEMU's CPU state that Unicorn does not expose, found in its
context images: the exception in flight and its error code."""
import ctypes
import struct

from unicorn import Uc, UC_ARCH_X86, UC_MODE_64
from unicorn import unicorn_const as UC
from unicorn import x86_const as X

from .gdt import (GDT_ADDR, GDT_ENTRIES, KBASE, KSIZE, KSTACK_TOP, STUB_ADDR, USER_CS,
                  _BOOT_STUB_INSNS, _boot_gdt, _boot_stub)


class QemuState:
    """Engine's reads and writes of QEMU's hidden CPU state."""

    def _clear_exception_in_flight(self):
        """QEMU remembers the last contributory exception until it has
        delivered it through the IDT, to turn a second one into #DF and a
        third into a triple fault (which halts the CPU for good). Exceptions
        here go to hooks and are never delivered, so a program that survives
        two faults (a SIGSEGV handler that returns or longjmps) would hang:
        clear QEMU's record (env->old_exception) through a context image."""
        off = _env_offset("old_exception")
        if off is None:
            return
        ctx = self.uc.context_save()
        ctypes.memmove(ctypes.cast(ctx.context, ctypes.c_void_p).value + off,
                       b"\xff\xff\xff\xff", 4)
        self.uc.context_restore(ctx)

    def error_code(self):
        """The error code of the exception the CPU is taking (QEMU's
        env->error_code: a #GP's selector, say), 0 if it cannot be read."""
        off = _env_offset("error_code")
        if off is None:
            return 0
        ctx = self.uc.context_save()
        raw = ctypes.string_at(ctypes.cast(ctx.context, ctypes.c_void_p).value + off, 4)
        return int.from_bytes(raw, "little")


def _scratch_exception(code):
    """Context images of a scratch CPU before and after user code `code`
    takes its first exception (the CPU stops in the interrupt hook)."""
    uc = Uc(UC_ARCH_X86, UC_MODE_64)
    uc.mem_map(KBASE, KSIZE, UC.UC_PROT_ALL)
    uc.mem_write(GDT_ADDR, _boot_gdt())
    uc.reg_write(X.UC_X86_REG_GDTR, (0, GDT_ADDR, 8 * GDT_ENTRIES - 1, 0))
    uc.mem_map(0x10000, 0x2000)
    uc.mem_write(0x10000, code)
    uc.mem_write(STUB_ADDR, _boot_stub(0x10000, 0x11800, USER_CS))
    uc.reg_write(X.UC_X86_REG_RSP, KSTACK_TOP)
    uc.emu_start(STUB_ADDR, 0, 0, _BOOT_STUB_INSNS)

    def image():
        ctx = uc.context_save()
        return ctypes.string_at(ctypes.cast(ctx.context, ctypes.c_void_p).value, ctx.size)
    before = image()
    uc.hook_add(UC.UC_HOOK_INTR, lambda u, intno, _: u.emu_stop())
    uc.emu_start(0x10000, 0x10000 + len(code))
    return before, image()


def _fields(pairs):
    """Offsets of the one 4-byte field of a context image that goes from
    each pair's first value to its second in every probe, or None."""
    found = None
    for (before, after), (old, new) in pairs:
        n = min(len(before), len(after)) - 3
        offs = {off for off in range(0, n, 4)
                if (old is None or before[off:off + 4] == (old & 0xFFFFFFFF).to_bytes(4, "little"))
                and after[off:off + 4] == new.to_bytes(4, "little")}
        found = offs if found is None else found & offs
    return found.pop() if found and len(found) == 1 else None


_ENV_OFFSETS = {}


def _env_offset(name):
    """Offset of a field of QEMU's CPU state in a Unicorn context image,
    found once by watching scratch CPUs take exceptions:
    old_exception goes from -1 to 13 on a #GP (HLT in ring 3);
    error_code is the selector of a bad segment load (0x43 gives 0x40,
    0x5b gives 0x58)."""
    if name not in _ENV_OFFSETS:
        if name == "old_exception":
            _ENV_OFFSETS[name] = _fields([(_scratch_exception(b"\xf4"), (-1, 13))])
        else:
            # mov $sel, %eax; mov %eax, %es
            load = lambda sel: b"\xb8" + struct.pack("<I", sel) + b"\x8e\xc0"
            _ENV_OFFSETS[name] = _fields([(_scratch_exception(load(0x43)), (None, 0x40)),
                                          (_scratch_exception(load(0x5b)), (None, 0x58))])
    return _ENV_OFFSETS[name]
