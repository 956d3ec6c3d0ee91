"""The built vDSO images, and what the kernel needs to map and patch them.

    img = load("i386")                 # or "x86_64"; cached
    base = <page-aligned address>
    map vvar.Vvar(...).pack()       at base + img.vvar_offset (base - 4096), read-only
    map img.mapping("sysenter")     at base, img.pages pages, read + execute
    auxv: AT_SYSINFO_EHDR = base; i386 also AT_SYSINFO = base + img.symbols["__kernel_vsyscall"]
    fast-path returns (SYSEXIT, 32-bit SYSRET) go to base + img.landing_pad

The images are vdso64.so and vdso32.so next to this file, built from src/
by the Makefile; vdsoNN.json holds what the build measured (offsets of the
__kernel_vsyscall alternative slot, the gate sequences, int80_landing_pad).
Symbols come from the image's own dynamic symbol table, read the way a libc
reads it, and must agree with the metadata.
"""
import os
from functools import lru_cache

try:    # the builtin module: hashlib loads OpenSSL, some milliseconds of every start
    from _sha256 import sha256
except ImportError:
    from hashlib import sha256

from .. import jsonio
from . import elfread
from .vvar import OFFSET as VVAR_OFFSET, SIZE as PAGE_SIZE

HERE = os.path.dirname(os.path.abspath(__file__))
GATES = ("int80", "sysenter", "syscall")
NAMES = {"x86_64": "vdso64", "i386": "vdso32"}
ALIASES = {64: "x86_64", 32: "i386", "64": "x86_64", "32": "i386",
           "x86-64": "x86_64", "amd64": "x86_64", "x86": "i386", "ia32": "i386"}


class VdsoImage:
    """One image, as built (a plain class: a frozen dataclass costs every
    start half a millisecond to make)."""
    __slots__ = ("arch", "data", "meta", "symbols", "versions")

    def __init__(self, arch, data, meta, symbols, versions):
        setattr_ = object.__setattr__
        setattr_(self, "arch", arch)            # "x86_64" or "i386"
        setattr_(self, "data", data)            # the image as built: the INT 0x80 gate in the slot
        setattr_(self, "meta", meta)            # vdsoNN.json
        setattr_(self, "symbols", symbols)      # exported name -> offset from the image base
        setattr_(self, "versions", versions)    # exported name -> version ("LINUX_2.6", ...)

    def __setattr__(self, name, value):
        raise AttributeError(f"VdsoImage is read-only: cannot set {name}")

    def __delattr__(self, name):
        raise AttributeError(f"VdsoImage is read-only: cannot delete {name}")

    def __repr__(self):
        return f"VdsoImage({self.arch}, {len(self.data)} bytes)"

    @property
    def size(self):
        return len(self.data)

    @property
    def pages(self):
        return (len(self.data) + PAGE_SIZE - 1) // PAGE_SIZE

    @property
    def vvar_offset(self):
        """Where the vvar page goes, relative to the image base (-4096)."""
        return VVAR_OFFSET

    @property
    def landing_pad(self):
        """Offset of int80_landing_pad (i386 only, else None)."""
        v = self.meta.get("vsyscall")
        return v["landing_pad"] if v else None

    @property
    def vsyscall(self):
        """i386: {"entry", "alt_slot", "alt_slot_size", "int80", "landing_pad",
        "gates": {gate: hex bytes}}; None for x86_64."""
        return self.meta.get("vsyscall")

    def addresses(self, base):
        """Exported name -> address, for an image mapped at base."""
        return {name: base + off for name, off in self.symbols.items()}

    def mapping(self, gate=None):
        """The bytes to map: the image patched for gate (i386; None keeps
        INT 0x80), zero-padded to whole pages."""
        data = self.data
        if gate is not None:
            if self.arch != "i386":
                raise ValueError("only the i386 image has __kernel_vsyscall")
            data = patch_vsyscall(data, gate)
        return data + bytes(self.pages * PAGE_SIZE - len(data))

    def lookup(self, name, version=None):
        """Offset of name (and version) through DT_GNU_HASH, as glibc looks
        it up; None if absent."""
        s = elfread.Elf(self.data).lookup_gnu(name, version)
        return None if s is None else s.value


def _arch(arch):
    arch = ALIASES.get(arch, arch)
    if arch not in NAMES:
        raise ValueError(f"no vDSO image for {arch!r}")
    return arch


def read_image(so_path, json_path):
    """A VdsoImage from files (the tests use it on fresh builds)."""
    with open(so_path, "rb") as f:
        data = f.read()
    with open(json_path) as f:
        meta = jsonio.loads(f.read())
    if sha256(data).hexdigest() != meta["sha256"]:
        raise ValueError(f"{so_path} does not match {json_path}")
    elf = elfread.Elf(data)
    symbols, versions = {}, {}
    for s in elf.dynsyms():
        if s.name and s.shndx not in (elfread.SHN_UNDEF, elfread.SHN_ABS):
            symbols[s.name], versions[s.name] = s.value, s.version
    if symbols != {n: v["offset"] for n, v in meta["symbols"].items()}:
        raise ValueError(f"{so_path}: dynamic symbols differ from {json_path}")
    return VdsoImage(meta["arch"], data, meta, symbols, versions)


def load(arch, directory=None):
    """The shipped image for arch ("x86_64" or "i386", or 64 / 32); cached."""
    return _load(_arch(arch), directory or HERE)


@lru_cache(maxsize=None)
def _load(arch, d):
    img = read_image(os.path.join(d, NAMES[arch] + ".so"), os.path.join(d, NAMES[arch] + ".json"))
    if img.arch != arch:
        raise ValueError(f"{NAMES[arch]}.so is a {img.arch} image")
    return img


def patch_vsyscall(image_bytes, gate, meta=None):
    """The i386 image with __kernel_vsyscall's alternative slot set for gate:
    "int80" (NOPs: fall through to int $0x80), "sysenter" (movl %esp,%ebp;
    sysenter) or "syscall" (movl %ecx,%ebp; syscall). image_bytes may be the
    image or a page-padded or already patched copy of it."""
    if gate not in GATES:
        raise ValueError(f"gate must be one of {GATES}, not {gate!r}")
    v = (meta or load("i386").meta)["vsyscall"]
    slot, size = v["alt_slot"], v["alt_slot_size"]
    seqs = {g: bytes.fromhex(h) for g, h in v["gates"].items()}
    cur = bytes(image_bytes[slot:slot + size])
    if cur not in seqs.values():
        raise ValueError("not the i386 vDSO image: its alternative slot holds " + cur.hex())
    out = bytearray(image_bytes)
    out[slot:slot + size] = seqs[gate]
    return bytes(out)


def gate_of(image_bytes, meta=None):
    """Which gate an i386 image's slot holds."""
    v = (meta or load("i386").meta)["vsyscall"]
    cur = bytes(image_bytes[v["alt_slot"]:v["alt_slot"] + v["alt_slot_size"]]).hex()
    for g, h in v["gates"].items():
        if h == cur:
            return g
    return None


def set_linux_version(image_bytes, arch, major, minor, patch=0):
    """The image with its "Linux" note saying KERNEL_VERSION(major, minor,
    patch), for a kernel whose uname reports another release."""
    off = load(arch).meta["linux_version_offset"]
    code = (major << 16) | (min(minor, 255) << 8) | min(patch, 255)
    out = bytearray(image_bytes)
    out[off:off + 4] = code.to_bytes(4, "little")
    return bytes(out)
