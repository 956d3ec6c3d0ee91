"""The real host: its vDSO (found through getauxval(AT_SYSINFO_EHDR)) and
what each kernel crossing costs on this CPU, measured in native code.

No compiler is needed: each measurement is a few bytes of x86-64 machine
code placed in an executable page and called through ctypes. A loop of N
operations is timed against the same loop with nothing in it, so the call
into the code and the loop's own cost cancel out.
"""
import ctypes
import mmap
import struct
import time

from ..loader import elf

AT_SYSINFO_EHDR = 33
_libc = ctypes.CDLL(None, use_errno=True)
_libc.getauxval.restype = ctypes.c_ulong
_libc.getauxval.argtypes = [ctypes.c_ulong]


# --- the host vDSO -------------------------------------------------------------
def vdso_base():
    return _libc.getauxval(AT_SYSINFO_EHDR)


def vdso_bytes():
    """The mapped vDSO image, read from memory."""
    base = vdso_base()
    if not base:
        return None
    head = ctypes.string_at(base, 64)
    phoff, = struct.unpack_from("<Q", head, 32)
    phentsize, phnum = struct.unpack_from("<HH", head, 54)
    shoff, = struct.unpack_from("<Q", head, 40)
    shentsize, shnum = struct.unpack_from("<HH", head, 58)
    # The kernel maps the whole image, section headers included.
    end = shoff + shentsize * shnum
    for i in range(phnum):
        ph = ctypes.string_at(base + phoff + i * phentsize, phentsize)
        ptype, _flags, off, vaddr, _pa, filesz, memsz, _al = struct.unpack("<IIQQQQQQ", ph)
        if ptype == elf.PT_LOAD:
            end = max(end, off + filesz)
    return ctypes.string_at(base, end)


def dynamic_symbols(image):
    """[(name, version, value, type)] from an ELF shared object's .dynsym,
    with versions from .gnu.version/.gnu.version_d (section headers)."""
    is64 = image[4] == 2
    if is64:
        shoff, = struct.unpack_from("<Q", image, 40)
        shentsize, shnum, _shstrndx = struct.unpack_from("<HHH", image, 58)
        shfmt, symfmt, symsize = "<IIQQQQIIQQ", "<IBBHQQ", 24
    else:
        shoff, = struct.unpack_from("<I", image, 32)
        shentsize, shnum, _shstrndx = struct.unpack_from("<HHH", image, 46)
        shfmt, symfmt, symsize = "<IIIIIIIIII", "<IIIBBH", 16
    secs = [struct.unpack_from(shfmt, image, shoff + i * shentsize) for i in range(shnum)]
    by_type = {}
    for s in secs:
        by_type.setdefault(s[1], s)
    dynsym, versym, verdef = by_type.get(11), by_type.get(0x6FFFFFFF), by_type.get(0x6FFFFFFD)
    if dynsym is None:
        return []
    strtab = secs[dynsym[6]]
    str_off = strtab[4] if is64 else strtab[4]

    def cstr(off):
        return image[str_off + off:image.index(b"\0", str_off + off)].decode()

    versions = {}
    if verdef is not None:
        off = verdef[4]
        while True:
            _v, _flags, ndx, _cnt, _hash, aux, nxt = struct.unpack_from("<HHHHIII", image, off)
            name_off, = struct.unpack_from("<I", image, off + aux)
            versions[ndx] = cstr(name_off)
            if not nxt:
                break
            off += nxt
    out = []
    n = dynsym[5] // symsize
    for i in range(1, n):
        raw = struct.unpack_from(symfmt, image, dynsym[4] + i * symsize)
        if is64:
            name_off, info, _other, shndx, value, _size = raw
        else:
            name_off, value, _size, info, _other, shndx = raw
        if shndx == 0:
            continue
        ver = ""
        if versym is not None:
            vi, = struct.unpack_from("<H", image, versym[4] + 2 * i)
            ver = versions.get(vi & 0x7FFF, "")
        kind = {0: "notype", 1: "object", 2: "func"}.get(info & 0xF, str(info & 0xF))
        out.append((cstr(name_off), ver, value, kind))
    return out


# --- native timing ------------------------------------------------------------
class _Code:
    """Machine code in an executable page, callable as uint64 f(uint64)."""

    def __init__(self, code):
        self.page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        self.page.write(code)
        addr = ctypes.addressof(ctypes.c_char.from_buffer(self.page))
        self.fn = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_uint64)(addr)
        self.addr = addr


def _loop(body):
    """push rbx; mov rbx, rdi; sub rsp, 24; loop: <body>; dec rbx; jnz loop;
    add rsp, 24; pop rbx; ret -- body may clobber caller-saved registers."""
    pre = bytes.fromhex("53" "4889fb" "4883ec18")
    jmp_back = len(body) + 3 + 2
    post = bytes.fromhex("48ffcb") + b"\x75" + struct.pack("<b", -jmp_back)
    return pre + body + post + bytes.fromhex("4883c418" "5b" "c3")


_PRE = 8        # bytes of _loop's code before the body


def _bodies(vdso_clock):
    # An empty function right after the loop: the body calls it with a
    # rel32 call whose target is the loop code's length (body 5 bytes).
    call_len = len(_loop(bytes(5)))
    bodies = {
        "loop": b"",
        "function call": b"\xe8" + struct.pack("<i", call_len - (_PRE + 5)),
        "SYSCALL getpid": bytes.fromhex("b827000000" "0f05"),
        "INT 0x80 getpid (64-bit code)": bytes.fromhex("b814000000" "cd80"),
    }
    if vdso_clock:
        # mov edi, CLOCK_MONOTONIC; mov rsi, rsp; mov rax, imm64; call rax
        bodies["vDSO clock_gettime"] = bytes.fromhex("bf01000000" "4889e6" "48b8") \
            + struct.pack("<Q", vdso_clock) + bytes.fromhex("ffd0")
    return bodies


def measure(n=200_000, repeat=5):
    """ns per operation for each crossing, measured natively."""
    base = vdso_base()
    clock = None
    if base:
        for name, _ver, value, _kind in dynamic_symbols(vdso_bytes()):
            if name == "__vdso_clock_gettime":
                clock = base + value
    codes = {name: _Code(_loop(body) + b"\xc3") for name, body in _bodies(clock).items()}
    best = {}
    for _ in range(repeat):
        for name, c in codes.items():
            t0 = time.perf_counter_ns()
            c.fn(n)
            dt = time.perf_counter_ns() - t0
            best[name] = min(best.get(name, dt), dt)
    empty = best.pop("loop")
    return {name: max(0.0, (dt - empty) / n) for name, dt in best.items()}
