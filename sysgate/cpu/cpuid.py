"""CPUID answers of Unicorn's own CPU model (cpu.models starts from them)."""
from unicorn import Uc, UC_ARCH_X86, UC_MODE_64
from unicorn import x86_const as X

_CPUID_UC = []


def native_cpuid_table(leaves):
    """CPUID answers of Unicorn's own CPU model, which ours starts from (one
    scratch CPU per host process, kept: making one costs about a
    millisecond, and a libc's start-up asks a dozen leaves)."""
    if not _CPUID_UC:
        uc = Uc(UC_ARCH_X86, UC_MODE_64)
        uc.mem_map(0x1000, 0x1000)
        uc.mem_write(0x1000, b"\x0f\xa2")
        _CPUID_UC.append(uc)
    uc = _CPUID_UC[0]
    out = {}
    for leaf, sub in leaves:
        uc.reg_write_batch([(X.UC_X86_REG_RAX, leaf), (X.UC_X86_REG_RCX, sub)])
        uc.emu_start(0x1000, 0x1002)
        out[leaf, sub] = tuple(uc.reg_read_batch([X.UC_X86_REG_RAX, X.UC_X86_REG_RBX,
                                                  X.UC_X86_REG_RCX, X.UC_X86_REG_RDX]))
    return out
