"""Host buffers for guest memory, sized by what the guest has rather than
by what it claims: a host call that reaches past the guest's readable (or
writable) memory faults where Linux's copy would, with EFAULT, after
whatever the host checks first; sysgate never allocates a claimed length."""
import ctypes

from .errors import KernelError, E
from .hostlibc import libc
from .mm import PROT_READ, PROT_WRITE

PAGE = 4096


class Fenced:
    """n bytes of host memory that end where an inaccessible page begins: a
    host call that reaches past what the guest could give (or take) faults
    there, with Linux's EFAULT, instead of sysgate allocating the guest's
    whole claimed length."""

    def __init__(self, n):
        pages = (n + PAGE - 1) // PAGE
        self.size = (pages + 1) * PAGE
        base = libc.mmap(None, self.size, 3, 0x22, -1, 0)    # RW, MAP_PRIVATE|MAP_ANONYMOUS
        if base is None or base == ctypes.c_void_p(-1).value:
            raise KernelError(E.ENOMEM)
        self.base = base
        libc.mprotect(ctypes.c_void_p(base + pages * PAGE), ctypes.c_size_t(PAGE), 0)
        self.addr = base + pages * PAGE - n

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        libc.munmap(ctypes.c_void_p(self.base), ctypes.c_size_t(self.size))

    def put(self, data):
        ctypes.memmove(self.addr, data, len(data))

    def get(self, n):
        return ctypes.string_at(self.addr, n)


class Plain:
    """A host buffer of n bytes (or data itself, when it is all there), for
    a guest area that is all there."""

    def __init__(self, n, data=None):
        if data is not None and len(data) == n:
            self.buf = data                     # bytes are read in place
            self.addr = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value
        else:
            self.buf = ctypes.create_string_buffer(max(n, 1))
            self.addr = ctypes.addressof(self.buf)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def get(self, n):
        return self.buf.raw[:n]


def gather(t, vecs, total):
    """A host copy of the first total bytes of the guest's iovecs, ending
    where the guest's readable memory does: the host faults (EFAULT, or a
    short count on a stream) exactly where Linux would stop copying."""
    parts, left = [], total
    for base, length in vecs:
        take = min(length, left)
        if not take:
            continue
        have = t.mm.extent(base, take, PROT_READ)
        if have:
            parts.append(t.mm.peek(base, have))
        left -= take
        if have < take:
            data = b"".join(parts)
            f = Fenced(len(data))
            f.put(data)
            return f
    return Plain(total, b"".join(parts))


def room(t, vecs, total):
    """A host buffer for a receive of up to total bytes into the guest's
    iovecs, fenced where their writable memory ends."""
    room, left = 0, total
    for base, length in vecs:
        take = min(length, left)
        if not take:
            continue
        have = t.mm.extent(base, take, PROT_WRITE)
        room += have
        left -= take
        if have < take:
            return Fenced(room)
    return Plain(total)


def scatter(t, vecs, data):
    at = 0
    for base, length in vecs:
        if at >= len(data):
            break
        piece = data[at:at + length]
        if piece:
            t.mm.write(base, piece)
        at += len(piece)


def struct_in(t, arg, size, convert=None):
    """The guest's structure at arg for the host: converted when all of it
    can be read, else its readable part, fenced (the host faults where the
    guest's memory ends, after whatever it checks first)."""
    have = t.mm.extent(arg, size, PROT_READ)
    raw = t.mm.peek(arg, have) if have else b""
    if have == size:
        raw = convert(raw) if convert else raw
        buf = Fenced(len(raw))
    else:
        buf = Fenced(have)
    buf.put(raw)
    return buf
