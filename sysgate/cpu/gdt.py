"""Linux's GDT and the CPU's kernel-only memory: the selectors, the
addresses of the GDT, LDT, boot stub and trap pages, the boot GDT and the
ring-0 stub that enters user mode, and the Engine's descriptor accessors."""
import struct

from unicorn import UcError

from .regbatch import REG

# Linux's GDT layout (arch/x86/include/asm/segment.h, 64-bit kernel).
KERNEL_CS, KERNEL_DS = 0x10, 0x18
USER32_CS, USER_DS, USER_CS = 0x23, 0x2B, 0x33
GDT_ENTRY_TLS_MIN = 12
GDT_ENTRY_TLS_ENTRIES = 3
# The per-CPU segment whose limit encodes the CPU and node numbers, for LSL
# (the vDSO's getcpu; user code may load it too). This machine is CPU 0 of
# node 0. It is the last entry: selectors past it are #GP, as on Linux.
GDT_ENTRY_CPUNODE = 15
GDT_ENTRIES = 16

# Unicorn keeps 52 bits of a linear address and has no paging, so no
# canonical check either: an address whose bits 47-51 are all set was a
# kernel-half canonical address; other values of those bits were
# non-canonical, a #GP on x86-64.
ADDR_BITS = 52
KERNEL_HALF_TAG = ((1 << ADDR_BITS) - 1) & ~((1 << 47) - 1)
# Kernel-only memory: the GDT, the boot stub and the boot stack, at 2^47,
# where no canonical address lands (user ones are below, kernel-half ones
# truncate to KERNEL_HALF_TAG and above); only a non-canonical user address
# reaches it, and that is a #GP. The page below, the last one under 2^47,
# stays unmapped: Linux never gives it to user space either.
KBASE = 1 << 47
GDT_ADDR = KBASE
STUB_ADDR = KBASE + 0x400
KSTACK_TOP = KBASE + 0x1000
KSIZE = 0x1000
# The LDT (modify_ldt): 8192 descriptors, kernel-only like the GDT; LDTR
# always points at it with the full limit (an entry never written is zero,
# which a segment load refuses as Linux's absent LDT does: #GP(selector)).
LDT_ADDR = KBASE + 0x10000
LDT_SIZE = 0x10000
KEND = LDT_ADDR + LDT_SIZE
# emu_start needs an end address; user code can never reach this one.
NEVER = KBASE + 0xFFE
VSYSCALL_PAGE = 0xFFFFFFFFFF600000
# Where the TLB sends an access its page does not allow (see _on_tlb_fill):
# physical pages no mapping uses (no user address is this high).
TRAP_BASE = 0x9 << 48
TRAP_PAGES = 1024
MSR_EFER, EFER_SCE = 0xC0000080, 1


def _descriptor(base, limit, access, flags):
    return struct.pack(
        "<HHBBBB", limit & 0xFFFF, base & 0xFFFF, (base >> 16) & 0xFF,
        access, ((flags & 0xF) << 4) | ((limit >> 16) & 0xF), (base >> 24) & 0xFF)


def _boot_gdt():
    gdt = bytearray(8 * 32)
    gdt[KERNEL_CS:KERNEL_CS + 8] = _descriptor(0, 0xFFFFF, 0x9B, 0xA)
    gdt[KERNEL_DS:KERNEL_DS + 8] = _descriptor(0, 0xFFFFF, 0x93, 0xC)
    gdt[USER32_CS & ~3:(USER32_CS & ~3) + 8] = _descriptor(0, 0xFFFFF, 0xFB, 0xC)
    gdt[USER_DS & ~3:(USER_DS & ~3) + 8] = _descriptor(0, 0xFFFFF, 0xF3, 0xC)
    gdt[USER_CS & ~3:(USER_CS & ~3) + 8] = _descriptor(0, 0xFFFFF, 0xFB, 0xA)
    # Read-only expand-down data, DPL 3, 32-bit; limit = (node << 12) | cpu.
    cpunode = 8 * GDT_ENTRY_CPUNODE
    gdt[cpunode:cpunode + 8] = _descriptor(0, 0, 0xF5, 0x4)
    return bytes(gdt)


def _boot_stub(entry, sp, cs):
    """Ring-0 code that enters user mode the way Linux's start_thread does:
    DS and ES null for a 64-bit program, __USER_DS for a 32-bit one
    (start_thread_common's _ds)."""
    ds = USER_DS if cs != USER_CS else 0
    return b"".join([
        b"\x66\xb8" + struct.pack("<H", KERNEL_DS), b"\x8e\xd0",   # mov ss
        b"\x66\xb8" + struct.pack("<H", ds), b"\x8e\xd8\x8e\xc0",      # ds, es
        b"\x6a" + bytes([USER_DS]),                                 # push ss
        b"\x48\xb8" + struct.pack("<Q", sp), b"\x50",               # push rsp
        b"\x68\x02\x02\x00\x00",                                    # push rflags
        b"\x6a" + bytes([cs]),                                      # push cs
        b"\x48\xb8" + struct.pack("<Q", entry), b"\x50",            # push rip
        b"\x48\xcf",                                                # iretq
    ])


_BOOT_STUB_INSNS = 13


class Descriptors:
    """Engine's GDT and LDT entries (kernel.tls, kernel.ldt)."""

    tls_loaded = None       # the TLS entries a Thread.load last wrote (cpu.context)

    def write_gdt_entry(self, index, raw8):
        self.tls_loaded = None
        raw8 = bytearray(raw8)
        if raw8[5] & 0x10:
            # Code and data descriptors are written with their accessed bit
            # set, as Linux's fill_ldt does, so that loading one never makes
            # the CPU write to the GDT (user code may only read it).
            raw8[5] |= 1
        raw8 = bytes(raw8)
        # A write to the GDT's page costs a translation-cache check: only
        # when the entry changes (thread switches rewrite the TLS entries,
        # three per switch, compared with what this method last wrote).
        shadow = self.__dict__.setdefault("_gdt_shadow", {})
        old = shadow.get(index)
        if old is None:
            old = self.mem_read(GDT_ADDR + 8 * index, 8)
        if old != raw8:
            self.mem_write(GDT_ADDR + 8 * index, raw8)
        shadow[index] = raw8

    def read_gdt_entry(self, index):
        return self.mem_read(GDT_ADDR + 8 * index, 8)

    def write_ldt_entry(self, index, raw8):
        self.mem_write(LDT_ADDR + 8 * index, raw8)

    def read_ldt_entry(self, index):
        return self.mem_read(LDT_ADDR + 8 * index, 8)

    def read_ldt(self, size):
        return self.mem_read(LDT_ADDR, size)

    def reload_segment(self, seg, sel):
        """Load seg again from its table; a selector that no longer loads
        leaves 0 (Linux's loadsegment fixup)."""
        try:
            self.uc.reg_write(REG[seg], sel)
        except UcError:
            self.uc.reg_write(REG[seg], 0)
