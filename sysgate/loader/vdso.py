"""Mapping the vDSO at exec (Linux's arch_setup_additional_pages): the vvar
page read-only, the image right above it read+execute, __kernel_vsyscall's
alternative slot patched for the gate the CPU model's boot chose."""
from ..abi.consts import PROT_EXEC, PROT_READ
from ..vdso import images
from ..vdso.vvar import SIZE as VVAR_SIZE


class MappedVdso:
    def __init__(self, image, base, gate):
        self.image = image
        self.base = base
        self.gate = gate
        self.vvar = base - VVAR_SIZE
        self.symbols = image.addresses(base)

    @property
    def landing_pad(self):
        pad = self.image.landing_pad
        return None if pad is None else self.base + pad

    @property
    def vsyscall(self):
        return self.symbols.get("__kernel_vsyscall")

    def functions(self):
        """Exported functions (name -> address), for tracing vDSO calls."""
        return {n: a for n, a in self.symbols.items() if not n.startswith("LINUX_")}


def map_vdso(mm, is64, gate):
    """Map vvar + vDSO into mm below the mmap base (top-down, as Linux 6
    places it with get_unmapped_area); returns a MappedVdso."""
    image = images.load("x86_64" if is64 else "i386")
    data = image.mapping(None if is64 else gate)
    size = VVAR_SIZE + len(data)
    start = mm.find_free(size)
    base = start + VVAR_SIZE
    mm.map(start, VVAR_SIZE, PROT_READ, name="[vvar]")
    mm.map(base, len(data), PROT_READ | PROT_EXEC, data, name="[vdso]")
    return MappedVdso(image, base, gate if not is64 else None)
