"""A small ELF reader for the vDSO images (standard library only).

It reads what a libc reads to use a vDSO: the program headers, the dynamic
segment, and through it the dynamic symbols, their versions and both hash
tables (DT_HASH, DT_GNU_HASH). Section headers and the full .symtab are read
only by the build (genmeta.py) from the unstripped .dbg files.
"""
import struct
from collections import namedtuple

PT_LOAD, PT_DYNAMIC, PT_NOTE, PT_GNU_EH_FRAME = 1, 2, 4, 0x6474E550
DT_NULL, DT_HASH, DT_STRTAB, DT_SYMTAB = 0, 4, 5, 6
DT_RELA, DT_REL, DT_TEXTREL, DT_JMPREL = 7, 17, 22, 23
DT_SONAME, DT_GNU_HASH = 14, 0x6FFFFEF5
DT_VERSYM, DT_VERDEF, DT_VERDEFNUM = 0x6FFFFFF0, 0x6FFFFFFC, 0x6FFFFFFD
DT_RELACOUNT, DT_RELCOUNT = 0x6FFFFFF9, 0x6FFFFFFA
ET_DYN, EM_386, EM_X86_64 = 3, 3, 62
SHN_UNDEF, SHN_ABS = 0, 0xFFF1
VER_FLG_BASE = 1

Phdr = namedtuple("Phdr", "type flags offset vaddr filesz memsz align")
Shdr = namedtuple("Shdr", "name type flags addr offset size link info entsize")
Sym = namedtuple("Sym", "name value size bind type visibility shndx version hidden")


class ElfError(ValueError):
    pass


def sysv_hash(name):
    h = 0
    for c in name.encode():
        h = ((h << 4) + c) & 0xFFFFFFFF
        h ^= (h >> 24) & 0xF0
    return h & 0x0FFFFFFF


def gnu_hash(name):
    h = 5381
    for c in name.encode():
        h = (h * 33 + c) & 0xFFFFFFFF
    return h


class Elf:
    def __init__(self, data):
        self.data = bytes(data)
        d = self.data
        if d[:4] != b"\x7fELF":
            raise ElfError("not an ELF file")
        if d[4] not in (1, 2) or d[5] != 1:
            raise ElfError("not a little-endian ELF32/ELF64 file")
        self.is64 = d[4] == 2
        self.w = 8 if self.is64 else 4
        if self.is64:
            (self.type, self.machine, _, self.entry, self.phoff, self.shoff, _, _,
             self.phentsize, self.phnum, self.shentsize, self.shnum,
             self.shstrndx) = struct.unpack_from("<HHIQQQIHHHHHH", d, 16)
        else:
            (self.type, self.machine, _, self.entry, self.phoff, self.shoff, _, _,
             self.phentsize, self.phnum, self.shentsize, self.shnum,
             self.shstrndx) = struct.unpack_from("<HHIIIIIHHHHHH", d, 16)
        self.phdrs = [self._phdr(self.phoff + i * self.phentsize) for i in range(self.phnum)]
        self._sections = None
        self._dynsyms = None

    # -- program headers and the dynamic segment -------------------------
    def _phdr(self, off):
        if self.is64:
            t, fl, o, va, _pa, fs, ms, al = struct.unpack_from("<IIQQQQQQ", self.data, off)
        else:
            t, o, va, _pa, fs, ms, fl, al = struct.unpack_from("<IIIIIIII", self.data, off)
        return Phdr(t, fl, o, va, fs, ms, al)

    def segments(self, ptype):
        return [p for p in self.phdrs if p.type == ptype]

    def off(self, vaddr):
        """File offset of a virtual address inside a PT_LOAD segment."""
        for p in self.segments(PT_LOAD):
            if p.vaddr <= vaddr < p.vaddr + p.filesz:
                return vaddr - p.vaddr + p.offset
        raise ElfError(f"address {vaddr:#x} is not in the file")

    def dynamic(self):
        """[(tag, value)] of PT_DYNAMIC, up to DT_NULL."""
        dyn = self.segments(PT_DYNAMIC)
        if len(dyn) != 1:
            raise ElfError("expected one PT_DYNAMIC")
        fmt = "<qQ" if self.is64 else "<iI"
        size = struct.calcsize(fmt)
        out = []
        for i in range(dyn[0].filesz // size):
            tag, val = struct.unpack_from(fmt, self.data, dyn[0].offset + i * size)
            if tag == DT_NULL:
                break
            out.append((tag, val))
        return out

    def dyn(self, tag, default=None):
        for t, v in self.dynamic():
            if t == tag:
                return v
        return default

    def cstr(self, off):
        end = self.data.index(b"\0", off)
        return self.data[off:end].decode()

    def _symbol_count(self):
        h = self.dyn(DT_HASH)
        if h is not None:
            return struct.unpack_from("<I", self.data, self.off(h) + 4)[0]   # nchain
        gh = self.dyn(DT_GNU_HASH)
        if gh is None:
            raise ElfError("no DT_HASH nor DT_GNU_HASH")
        o = self.off(gh)
        nbuckets, symoffset, bloom_size, _ = struct.unpack_from("<IIII", self.data, o)
        buckets = o + 16 + bloom_size * self.w
        chains = buckets + 4 * nbuckets
        last = max(struct.unpack_from(f"<{nbuckets}I", self.data, buckets) or (0,))
        if last < symoffset:
            return symoffset
        while not struct.unpack_from("<I", self.data, chains + 4 * (last - symoffset))[0] & 1:
            last += 1
        return last + 1

    def _versions(self):
        """verdef index -> version name (the base entry, the soname, included)."""
        names = {}
        vd = self.dyn(DT_VERDEF)
        if vd is None:
            return names
        strtab = self.off(self.dyn(DT_STRTAB))
        o = self.off(vd)
        for _ in range(self.dyn(DT_VERDEFNUM, 0)):
            _ver, _flags, ndx, _cnt, _hash, aux, nxt = struct.unpack_from("<HHHHIII", self.data, o)
            name_off = struct.unpack_from("<I", self.data, o + aux)[0]
            names[ndx] = self.cstr(strtab + name_off)
            if not nxt:
                break
            o += nxt
        return names

    def dynsyms(self):
        """Every dynamic symbol, as libc sees it: name, value, version."""
        if self._dynsyms is None:
            self._dynsyms = self._read_dynsyms()
        return self._dynsyms

    def _read_dynsyms(self):
        symtab = self.off(self.dyn(DT_SYMTAB))
        strtab = self.off(self.dyn(DT_STRTAB))
        versym = self.dyn(DT_VERSYM)
        versym = self.off(versym) if versym is not None else None
        vnames = self._versions()
        out = []
        for i in range(self._symbol_count()):
            name, value, size, info, other, shndx = self._sym(symtab, i)
            ver, hidden = None, False
            if versym is not None:
                v = struct.unpack_from("<H", self.data, versym + 2 * i)[0]
                hidden, ver = bool(v & 0x8000), vnames.get(v & 0x7FFF)
            out.append(Sym(self.cstr(strtab + name), value, size, info >> 4, info & 0xF,
                           other & 3, shndx, ver, hidden))
        return out

    def _sym(self, base, i):
        if self.is64:
            name, info, other, shndx, value, size = struct.unpack_from("<IBBHQQ", self.data, base + 24 * i)
        else:
            name, value, size, info, other, shndx = struct.unpack_from("<IIIBBH", self.data, base + 16 * i)
        return name, value, size, info, other, shndx

    # -- lookups through the hash tables, as a libc does ------------------
    def _match(self, i, name, version):
        s = self.dynsyms()[i]
        if s.name != name or s.shndx == SHN_UNDEF:
            return None
        if version is not None and s.version != version:
            return None
        return s

    def lookup_sysv(self, name, version=None):
        o = self.off(self.dyn(DT_HASH))
        nbucket, nchain = struct.unpack_from("<II", self.data, o)
        i = struct.unpack_from("<I", self.data, o + 8 + 4 * (sysv_hash(name) % nbucket))[0]
        while i:
            s = self._match(i, name, version)
            if s:
                return s
            i = struct.unpack_from("<I", self.data, o + 8 + 4 * nbucket + 4 * i)[0]
        return None

    def lookup_gnu(self, name, version=None):
        o = self.off(self.dyn(DT_GNU_HASH))
        nbuckets, symoffset, bloom_size, bloom_shift = struct.unpack_from("<IIII", self.data, o)
        h = gnu_hash(name)
        bits = self.w * 8
        word = int.from_bytes(self.data[o + 16 + self.w * ((h // bits) % bloom_size):][:self.w], "little")
        if not (word >> (h % bits)) & (word >> ((h >> bloom_shift) % bits)) & 1:
            return None
        buckets = o + 16 + bloom_size * self.w
        chains = buckets + 4 * nbuckets
        i = struct.unpack_from("<I", self.data, buckets + 4 * (h % nbuckets))[0]
        if i < symoffset:
            return None
        while True:
            ch = struct.unpack_from("<I", self.data, chains + 4 * (i - symoffset))[0]
            if (ch | 1) == (h | 1):
                s = self._match(i, name, version)
                if s:
                    return s
            if ch & 1:
                return None
            i += 1

    # -- section headers (the build's checks; stripped images keep them) --
    @property
    def sections(self):
        if self._sections is None:
            secs = []
            for i in range(self.shnum):
                off = self.shoff + i * self.shentsize
                if self.is64:
                    f = struct.unpack_from("<IIQQQQIIQQ", self.data, off)
                else:
                    f = struct.unpack_from("<IIIIIIIIII", self.data, off)
                secs.append(Shdr(f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[9]))
            names = secs[self.shstrndx].offset if secs else 0
            self._sections = [s._replace(name=self.cstr(names + s.name)) for s in secs]
        return self._sections

    def section(self, name):
        for s in self.sections:
            if s.name == name:
                return s
        return None

    def section_data(self, name):
        s = self.section(name)
        return None if s is None else self.data[s.offset:s.offset + s.size]

    def symtab(self):
        """{name: Sym} of .symtab (unstripped files only)."""
        st = self.section(".symtab")
        if st is None:
            raise ElfError("no .symtab (stripped?)")
        strtab = self.sections[st.link].offset
        out = {}
        for i in range(st.size // st.entsize):
            name, value, size, info, other, shndx = self._sym(st.offset, i)
            if name:
                out[self.cstr(strtab + name)] = Sym(self.cstr(strtab + name), value, size,
                                                     info >> 4, info & 0xF, other & 3, shndx,
                                                     None, False)
        return out
