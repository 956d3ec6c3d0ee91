"""CPU models: which vendor the guest sees and which gates exist in which mode.

Facts (Intel SDM vol. 2, AMD APM vol. 3, Linux arch/x86/entry):
- SYSCALL from 64-bit code exists on both vendors.
- SYSCALL from compat (32-bit) code is #UD on Intel and Linux's compat
  fast path on AMD.
- SYSENTER in long mode (64-bit or compat code) is #UD on AMD; on Intel it is
  the 32-bit fast path, whatever the mode of the caller.
- Intel reports CPUID.80000001H:EDX.SYSCALL only to 64-bit code.
"""
import functools

from .cpuid import native_cpuid_table

SEP_BIT = 1 << 11        # CPUID.1:EDX
SYSCALL_BIT = 1 << 11    # CPUID.80000001H:EDX
LM_BIT = 1 << 29         # CPUID.80000001H:EDX


def _vendor_regs(vendor):
    b, d, c = (int.from_bytes(vendor[i:i + 4].encode(), "little") for i in (0, 4, 8))
    return b, c, d


class CpuModel:
    # A plain class: a dataclass imports inspect (and ast, dis, tokenize)
    # into every start, some 5 ms.
    __slots__ = ("name", "vendor", "has_sep")

    def __init__(self, name, vendor, has_sep=True):
        for k, v in (("name", name), ("vendor", vendor), ("has_sep", has_sep)):
            object.__setattr__(self, k, v)

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field {name!r}")     # frozen

    def _key(self):
        return self.name, self.vendor, self.has_sep

    def __eq__(self, other):
        return self._key() == other._key() if type(other) is CpuModel else NotImplemented

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return f"CpuModel(name={self.name!r}, vendor={self.vendor!r}, has_sep={self.has_sep!r})"

    @property
    def is_intel(self):
        return self.vendor == "GenuineIntel"

    def sysenter_ok(self, compat):
        return self.has_sep and self.is_intel

    def syscall_ok(self, compat):
        return not compat or not self.is_intel

    def fast_compat_gate(self):
        """The gate __kernel_vsyscall would use on this CPU (64-bit kernel)."""
        if self.is_intel:
            return "sysenter" if self.has_sep else "int80"
        return "syscall"

    def make_cpuid(self):
        """cpuid(leaf, subleaf, compat) -> (eax, ebx, ecx, edx), made once
        per model and host process and remembering its answers."""
        fn = _CPUIDS.get(self)
        if fn is None:
            fn = _CPUIDS[self] = functools.lru_cache(maxsize=None)(self._make_cpuid())
        return fn

    def _make_cpuid(self):
        base = _base()
        vb, vc, vd = _vendor_regs(self.vendor)

        def cpuid(leaf, sub, compat):
            if leaf == 0:
                return base[0, 0][0], vb, vc, vd
            if leaf == 0x80000001:
                a, b, c, d = base[0x80000001, 0]
                d |= LM_BIT
                if self.syscall_ok(compat) and not (self.is_intel and compat):
                    d |= SYSCALL_BIT
                else:
                    d &= ~SYSCALL_BIT
                return a, b, c, d
            if leaf == 1:
                a, b, c, d = base[1, 0]
                d = d | SEP_BIT if self.has_sep else d & ~SEP_BIT
                return a, b, c, d
            return _unicorn_default(leaf, sub, base)
        return cpuid


_EXTRA = {}
_CPUIDS = {}
_BASE = {}


def _base():
    if not _BASE:
        _BASE.update(native_cpuid_table([(0, 0), (1, 0), (0x80000000, 0), (0x80000001, 0)]))
    return _BASE


def _unicorn_default(leaf, sub, base):
    key = (leaf, sub)
    if key not in base:
        if key not in _EXTRA:
            _EXTRA[key] = native_cpuid_table([key])[key]
        return _EXTRA[key]
    return base[key]


MODELS = {
    "intel": CpuModel("intel", "GenuineIntel"),
    "amd": CpuModel("amd", "AuthenticAMD"),
    "i486": CpuModel("i486", "GenuineIntel", has_sep=False),
}
