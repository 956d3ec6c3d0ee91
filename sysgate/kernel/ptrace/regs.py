"""The register layouts a tracer sees (arch/x86/include/asm/user_64.h and
user_32.h): a view is a dict of 64-bit values under x86-64 names, plus
orig_rax, fs_base and gs_base; these turn it into a tracer's bytes."""
import struct

M32, M64 = 0xFFFFFFFF, (1 << 64) - 1
USER32_CS = 0x23

REGS64 = ("r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs "
          "eflags rsp ss fs_base gs_base ds es fs gs").split()
REGS32 = ("rbx rcx rdx rsi rdi rbp rax ds es fs gs orig_rax rip cs eflags rsp ss").split()
SIZE64, SIZE32 = 8 * len(REGS64), 4 * len(REGS32)
# offsetof(struct user, u_debugreg) and sizeof(struct user), both ABIs.
DEBUGREG64, USER64 = 848, 912
DEBUGREG32, USER32 = 252, 284
SEGMENTS = frozenset("cs ss ds es fs gs".split())
# The flags a tracer may change (FLAG_MASK_32: CF PF AF ZF SF TF DF OF RF AC).
FLAG_MASK = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x10000 | 0x40000


def is32(view):
    return view["cs"] & 0xFFFF == USER32_CS


def pack(view, wide):
    """user_regs_struct: x86-64's (wide) or i386's."""
    if wide:
        return struct.pack("<27Q", *(view[n] & M64 for n in REGS64))
    return struct.pack("<17I", *(view[n] & M32 for n in REGS32))


def unpack(data, wide):
    if wide:
        return dict(zip(REGS64, struct.unpack("<27Q", data)))
    vals = dict(zip(REGS32, struct.unpack("<17I", data)))
    # A 32-bit tracer's orig_eax -1 disables a restart: kept sign-extended.
    o = vals["orig_rax"]
    vals["orig_rax"] = (o - (1 << 32)) & M64 if o >> 31 else o
    return vals


def user_area(wide):
    """(offset of u_debugreg, sizeof(struct user)) for a tracer's word size."""
    return (DEBUGREG64, USER64) if wide else (DEBUGREG32, USER32)


def signed(v, bits=64):
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v

# The register file as machine.Thread reads and writes it.
USER_REGS = ("rax rbx rcx rdx rsi rdi rbp rsp r8 r9 r10 r11 r12 r13 r14 r15 "
             "rip eflags cs ss ds es fs gs").split()
