"""ELF headers: what execve checks before its point of no return, in the
order fs/binfmt_elf.c's load_elf_binary checks it, with its errnos.

Only the first BINPRM_BUF bytes (the buffer exec.c reads) and the program
headers are read, through a pread function: a huge or sparse file costs
what its headers cost. Segment contents are never read here."""
import errno
import struct

ET_EXEC, ET_DYN = 2, 3
EM_386, EM_486, EM_X86_64 = 3, 6, 62
PT_LOAD, PT_INTERP, PT_PHDR, PT_GNU_STACK = 1, 3, 6, 0x6474E551
PF_X, PF_W, PF_R = 1, 2, 4
PATH_MAX = 4096
# Which binfmt takes a file is decided by e_machine alone (elf_check_arch and
# compat_elf_check_arch): EI_CLASS, EI_DATA and e_version are never looked at,
# and the header and program headers are read with that loader's layout.
EHDR = {True: struct.Struct("<16sHHIQQQIHHHHHH"), False: struct.Struct("<16sHHIIIIIHHHHHH")}
PHDR = {True: struct.Struct("<IIQQQQQQ"), False: struct.Struct("<IIIIIIII")}


class ElfError(Exception):
    """exec refuses the file before its point of no return: errno is what
    execve returns, the message what `sysgate run` says."""

    def __init__(self, err, msg=None):
        super().__init__(msg or errno.errorcode.get(err, str(err)))
        self.errno = err


# The records here and in image.py and process.py are plain classes, not
# dataclasses: making a dataclass costs a start a third of a millisecond.
class Record:
    __slots__ = ()

    def __repr__(self):
        return f"{type(self).__name__}(" + ", ".join(
            f"{k}={getattr(self, k)!r}" for k in self.__slots__) + ")"

    def __eq__(self, other):
        return type(other) is type(self) and all(
            getattr(self, k) == getattr(other, k) for k in self.__slots__)


class Phdr(Record):
    __slots__ = ("type", "flags", "offset", "vaddr", "filesz", "memsz", "align")

    def __init__(self, type, flags, offset, vaddr, filesz, memsz, align):
        self.type, self.flags, self.offset, self.vaddr = type, flags, offset, vaddr
        self.filesz, self.memsz, self.align = filesz, memsz, align


class ElfImage(Record):
    __slots__ = ("is64", "etype", "entry", "phoff", "phentsize", "phnum", "phdrs", "interp",
                 "exec_stack")

    def __init__(self, is64, etype, entry, phoff, phentsize, phnum, phdrs=None, interp=None,
                 exec_stack=None):
        self.is64, self.etype, self.entry, self.phoff = is64, etype, entry, phoff
        self.phentsize, self.phnum = phentsize, phnum
        self.phdrs = [] if phdrs is None else phdrs
        self.interp = interp
        self.exec_stack = exec_stack      # PT_GNU_STACK's PF_X; None: no PT_GNU_STACK

    @property
    def pie(self):
        return self.etype == ET_DYN

    @property
    def segments(self):
        return [p for p in self.phdrs if p.type == PT_LOAD]

    @property
    def read_implies_exec(self):
        # elf_read_implies_exec on x86-64: an i386 program without
        # PT_GNU_STACK gets READ_IMPLIES_EXEC.
        return not self.is64 and self.exec_stack is None


def machine_class(buf):
    """True for the 64-bit loader, False for the compat (i386) one, None
    when neither takes the file (ENOEXEC)."""
    if len(buf) < 20 or buf[:4] != b"\x7fELF":
        return None
    machine = int.from_bytes(buf[18:20], "little")
    if machine == EM_X86_64:
        return True
    if machine in (EM_386, EM_486):
        return False
    return None


def _header(buf, is64):
    buf = bytes(buf[:EHDR[is64].size]).ljust(EHDR[is64].size, b"\0")
    (_ident, etype, _m, _v, entry, phoff, _sh, _fl, _eh, phentsize, phnum,
     _she, _shn, _shs) = EHDR[is64].unpack(buf)
    return ElfImage(is64, etype, entry, phoff, phentsize, phnum)


def _read(pread, n, pos):
    """kernel_read as elf_read uses it: EINVAL for an offset the VFS refuses,
    EIO for a short read."""
    if pos >= 1 << 63 or pos + n >= 1 << 63:
        raise ElfError(errno.EINVAL)
    data = pread(n, pos)
    if len(data) != n:
        raise ElfError(errno.EIO)
    return data


def _phdrs(img, pread):
    """load_elf_phdrs: None when the table is refused or cannot be read."""
    ph = PHDR[img.is64]
    size = ph.size * img.phnum
    if img.phentsize != ph.size or size == 0 or size > 65536:
        return None
    try:
        raw = _read(pread, size, img.phoff)
    except ElfError:
        return None
    out = []
    for i in range(img.phnum):
        f = ph.unpack_from(raw, i * ph.size)
        if img.is64:
            ptype, flags, offset, vaddr, _pa, filesz, memsz, align = f
        else:
            ptype, offset, vaddr, _pa, filesz, memsz, flags, align = f
        out.append(Phdr(ptype, flags, offset, vaddr, filesz, memsz, align))
    return out


def parse(buf, pread, name="program"):
    """The program's headers (buf: the file's first bytes; pread(n, pos)
    reads the file), checked as load_elf_binary checks them up to the
    point of no return. Raises ElfError with execve's errno."""
    is64 = machine_class(buf)
    if buf[:4] != b"\x7fELF":
        raise ElfError(errno.ENOEXEC, "not an ELF file")
    img = _header(buf, bool(is64))
    if img.etype not in (ET_EXEC, ET_DYN):
        raise ElfError(errno.ENOEXEC, f"not an executable (ELF type {img.etype})")
    if is64 is None:
        raise ElfError(errno.ENOEXEC,
                       "ELF for another machine (sysgate runs i386 and x86-64 programs)")
    phdrs = _phdrs(img, pread)
    if phdrs is None:
        raise ElfError(errno.ENOEXEC, "bad program header table")
    img.phdrs = phdrs
    for p in phdrs:
        if p.type == PT_INTERP:
            img.interp = _interp_path(p, pread)
            break
    for p in phdrs:
        if p.type == PT_GNU_STACK:
            img.exec_stack = bool(p.flags & PF_X)
    return img


def _interp_path(p, pread):
    if p.filesz > PATH_MAX or p.filesz < 2:
        raise ElfError(errno.ENOEXEC, "bad PT_INTERP")
    data = _read(pread, p.filesz, p.offset)
    if data[-1] != 0:
        raise ElfError(errno.ENOEXEC, "PT_INTERP not NUL-terminated")
    return data.split(b"\0", 1)[0]


def interp_header_size(is64):
    return EHDR[is64].size


def parse_interp(buf, pread, is64):
    """The interpreter's headers, checked against the program's loader
    (ELIBBAD for anything that is no interpreter for it). buf is its first
    sizeof(elfhdr) bytes (EIO was raised by the caller for fewer)."""
    if buf[:4] != b"\x7fELF" or machine_class(buf) is not is64:
        raise ElfError(errno.ELIBBAD)
    img = _header(buf, is64)
    phdrs = _phdrs(img, pread)
    if phdrs is None:
        raise ElfError(errno.ELIBBAD)
    img.phdrs = phdrs
    return img
