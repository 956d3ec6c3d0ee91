"""CPUID answers of Unicorn's own CPU model (cpu.models starts from them).

They are the library's, the same on every run: a scratch CPU asks them
once, and the user's cache keeps them beside the handler index, for the
library file they came from (its path, size and time), so a start makes
no scratch CPU (about 2 ms: a Unicorn instance and a translated CPUID per
leaf). The file holds numbers only, each checked: a guest that can write
it (a confined guest whose root holds the cache) could change what later
guests read from CPUID, nothing of sysgate's. A line per leaf, six hex
numbers (json and zlib would cost every start about 1.5 ms to import).
"""
import os

from unicorn import Uc, UC_ARCH_X86, UC_MODE_64
from unicorn import x86_const as X

_CPUID_UC = []
_KNOWN = {}         # (leaf, subleaf) -> (eax, ebx, ecx, edx), from the cache or the scratch CPU
_M32 = 0xFFFFFFFF
_MAX_FILE = 1 << 16     # a few dozen leaves take 2 KB


def native_cpuid_table(leaves):
    """CPUID answers of Unicorn's own CPU model, which ours starts from (one
    scratch CPU per host process, kept, made only for leaves the cache
    does not hold)."""
    if not _KNOWN:
        _KNOWN.update(_read_cache() or {})
    missing = [k for k in leaves if k not in _KNOWN]
    if missing:
        _KNOWN.update(_ask(missing))
        _write_cache()
    return {k: _KNOWN[k] for k in leaves}


def _ask(leaves):
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


def _cache_path():
    from unicorn.unicorn_py3 import unicorn as binding
    lib = binding.uclib._name
    st = os.stat(lib)
    tag = f"{st.st_size:x}-{st.st_mtime_ns:x}-{st.st_dev:x}-{st.st_ino:x}"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sysgate", f"cpuid-{tag}.txt")


def _read_cache():
    try:
        with open(_cache_path(), "rb") as f:
            raw = f.read(_MAX_FILE + 1)
        if len(raw) > _MAX_FILE:
            return None
        out = {}
        for line in raw.split(b"\n")[:-1]:
            row = [int(v, 16) for v in line.split(b" ")]
            if len(row) != 6 or not all(0 <= v <= _M32 for v in row):
                return None
            out[row[0], row[1]] = tuple(row[2:])
        return out
    except (OSError, ValueError, AttributeError):
        return None


def _write_cache():
    try:
        path = _cache_path()
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "w") as f:
            f.write("".join(" ".join(f"{v & _M32:x}" for v in (leaf, sub, *regs)) + "\n"
                            for (leaf, sub), regs in sorted(_KNOWN.items())))
        os.replace(tmp, path)
    except (OSError, AttributeError):
        pass
