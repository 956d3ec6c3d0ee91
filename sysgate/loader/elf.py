"""ELF images: bytes in, a description of what to map out. No CPU needed."""
import struct
from dataclasses import dataclass, field

ET_EXEC, ET_DYN = 2, 3
EM_386, EM_X86_64 = 3, 62
PT_LOAD, PT_INTERP, PT_PHDR, PT_GNU_STACK = 1, 3, 6, 0x6474E551
PF_X, PF_W, PF_R = 1, 2, 4


class ElfError(Exception):
    """The file cannot be run; the message is what the user sees."""


@dataclass
class Segment:
    vaddr: int
    memsz: int
    filesz: int
    offset: int
    prot: int          # PROT_* bits


@dataclass
class ElfImage:
    is64: bool
    etype: int
    entry: int
    phoff: int
    phentsize: int
    phnum: int
    segments: list = field(default_factory=list)
    interp: str = None
    phdr_vaddr: int = None
    exec_stack: bool = False

    @property
    def pie(self):
        return self.etype == ET_DYN

    def span(self):
        lo = min(s.vaddr for s in self.segments) & ~0xFFF
        hi = max(s.vaddr + s.memsz for s in self.segments)
        return lo, hi


def _prot(flags):
    return (1 if flags & PF_R else 0) | (2 if flags & PF_W else 0) | (4 if flags & PF_X else 0)


def parse(data, name="program"):
    if len(data) < 52 or data[:4] != b"\x7fELF":
        raise ElfError(f"{name}: not an ELF file")
    ei_class, ei_data = data[4], data[5]
    if ei_class not in (1, 2) or ei_data != 1:
        raise ElfError(f"{name}: unsupported ELF class or byte order")
    is64 = ei_class == 2
    if is64:
        if len(data) < 64:
            raise ElfError(f"{name}: truncated ELF header")
        (etype, machine, _v, entry, phoff, _sh, _fl, _eh, phentsize, phnum) = \
            struct.unpack_from("<HHIQQQIHHH", data, 16)
    else:
        (etype, machine, _v, entry, phoff, _sh, _fl, _eh, phentsize, phnum) = \
            struct.unpack_from("<HHIIIIIHHH", data, 16)
    want = EM_X86_64 if is64 else EM_386
    if machine != want:
        raise ElfError(f"{name}: ELF for another machine (e_machine {machine}); "
                       "sysgate runs i386 and x86-64 programs")
    if etype not in (ET_EXEC, ET_DYN):
        raise ElfError(f"{name}: not an executable (ELF type {etype})")
    img = ElfImage(is64, etype, entry, phoff, phentsize, phnum)
    fmt = "<IIQQQQQQ" if is64 else "<IIIIIIII"
    if phentsize != struct.calcsize(fmt) or phoff + phnum * phentsize > len(data):
        raise ElfError(f"{name}: bad program header table")
    for i in range(phnum):
        f = struct.unpack_from(fmt, data, phoff + i * phentsize)
        if is64:
            ptype, flags, offset, vaddr, _pa, filesz, memsz, _al = f
        else:
            ptype, offset, vaddr, _pa, filesz, memsz, flags, _al = f
        if ptype == PT_LOAD:
            if filesz > memsz or offset + filesz > len(data):
                raise ElfError(f"{name}: bad PT_LOAD segment")
            img.segments.append(Segment(vaddr, memsz, filesz, offset, _prot(flags)))
        elif ptype == PT_INTERP:
            img.interp = data[offset:offset + filesz].split(b"\0")[0].decode(errors="replace")
        elif ptype == PT_PHDR:
            img.phdr_vaddr = vaddr
        elif ptype == PT_GNU_STACK:
            img.exec_stack = bool(flags & PF_X)
    if not img.segments:
        raise ElfError(f"{name}: no loadable segments")
    if img.phdr_vaddr is None:
        # Static programs often lack PT_PHDR: the headers sit in the first
        # segment that maps file offset phoff (as Linux's load_elf_binary finds them).
        for s in img.segments:
            if s.offset <= phoff < s.offset + s.filesz:
                img.phdr_vaddr = s.vaddr + (phoff - s.offset)
                break
    return img
