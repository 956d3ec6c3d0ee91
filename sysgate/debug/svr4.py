"""The dynamic linker's list of loaded objects, for qXfer:libraries-svr4:read.

gdb can walk r_debug itself through memory reads; answering in one packet
is what gdbserver does, and is faster. The list is found as a debugger
finds it: the program headers (AT_PHDR, AT_PHNUM), PT_DYNAMIC, its DT_DEBUG
entry (set by ld.so to its r_debug), then r_debug.r_map's link_map chain.
"""
import struct
from xml.sax.saxutils import quoteattr

AT_PHDR, AT_PHNUM = 3, 5
PT_DYNAMIC, PT_PHDR = 2, 6
DT_NULL, DT_DEBUG = 0, 21
MAX_OBJECTS = 4096


def _auxv(raw, word):
    fmt = "<QQ" if word == 8 else "<II"
    out = {}
    for off in range(0, len(raw) - 2 * word + 1, 2 * word):
        k, v = struct.unpack_from(fmt, raw, off)
        if k == 0:
            break
        out.setdefault(k, v)
    return out


def r_debug_address(read, auxv_raw, word):
    """The address of ld.so's r_debug, or 0 (static, or not yet set).
    read(addr, n) returns bytes, shorter where memory ends."""
    aux = _auxv(auxv_raw, word)
    phdr, phnum = aux.get(AT_PHDR), aux.get(AT_PHNUM)
    if not phdr or not phnum or phnum > 1024:
        return 0
    size = 56 if word == 8 else 32
    raw = read(phdr, size * phnum)
    if len(raw) < size * phnum:
        return 0
    bias, dynamic = 0, None
    for i in range(phnum):
        if word == 8:
            p_type, _, _, p_vaddr = struct.unpack_from("<IIQQ", raw, i * size)
        else:
            p_type, _, p_vaddr = struct.unpack_from("<III", raw, i * size)
        if p_type == PT_PHDR:
            bias = phdr - p_vaddr
        elif p_type == PT_DYNAMIC:
            dynamic = p_vaddr
    if dynamic is None:
        return 0
    addr = (dynamic + bias) & ((1 << (8 * word)) - 1)
    fmt = "<qQ" if word == 8 else "<iI"
    for _ in range(4096):
        ent = read(addr, 2 * word)
        if len(ent) < 2 * word:
            return 0
        tag, val = struct.unpack(fmt, ent)
        if tag == DT_NULL:
            return 0
        if tag == DT_DEBUG:
            return val
        addr += 2 * word
    return 0


def _cstr(read, addr, limit=4096):
    out = b""
    while len(out) < limit:
        chunk = read(addr + len(out), 256)
        if not chunk:
            break
        nul = chunk.find(b"\0")
        if nul >= 0:
            return out + chunk[:nul]
        out += chunk
    return out


def library_list(read, auxv_raw, word):
    """The <library-list-svr4> document gdb asks for."""
    fmt = "<" + ("Q" if word == 8 else "I")
    r_debug = r_debug_address(read, auxv_raw, word)
    raw = read(r_debug + word, word) if r_debug else b""
    lm = struct.unpack(fmt, raw)[0] if len(raw) == word else 0
    if not lm:
        return b'<library-list-svr4 version="1.0"/>'
    head, libs, seen = None, [], set()
    while lm and lm not in seen and len(seen) < MAX_OBJECTS:
        seen.add(lm)
        raw = read(lm, 5 * word)
        if len(raw) < 5 * word:
            break
        l_addr, l_name, l_ld, l_next, _ = struct.unpack("<" + fmt[1] * 5, raw)
        if head is None:
            head = lm            # the program itself
        else:
            name = _cstr(read, l_name) if l_name else b""
            if name:
                libs.append(f"<library name={quoteattr(name.decode('utf-8', 'replace'))} "
                            f'lm="{lm:#x}" l_addr="{l_addr:#x}" l_ld="{l_ld:#x}" lmid="0x0"/>')
        lm = l_next
    return (f'<library-list-svr4 version="1.0" main-lm="{head:#x}">' + "".join(libs)
            + "</library-list-svr4>").encode()
