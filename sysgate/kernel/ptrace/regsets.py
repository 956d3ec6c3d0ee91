"""The ptrace requests that read and write a tracee's registers: the
user area (PEEKUSR, POKEUSR), GETREGS/SETREGS, the FPU's, and regsets."""
import errno as E
import struct

from ..errors import KernelError
from .consts import NT_PRFPREG, NT_PRSTATUS
from .regs import is32, pack, unpack, user_area


def _view(e):
    return {k: int(v) for k, v in e.stop["view"].items()}


def _setregs(tr, e, new):
    tr.request(e, {"op": "setregs", "regs": new})
    e.stop["view"].update(new)


def _user_offset(t, addr):
    """The user area's layout for t (debug registers' offset) after
    PEEKUSER/POKEUSER's check of addr: aligned and inside, else EIO."""
    dbg, size = user_area(t.is64)
    if addr & (t.word - 1) or not 0 <= addr < size:
        raise KernelError(E.EIO)
    return dbg


def _peekuser(t, tr, e, addr, data):
    wide, w = t.is64, t.word
    dbg = _user_offset(t, addr)
    regs = pack(_view(e), wide)
    if addr < len(regs):
        word = regs[addr:addr + w]
    elif dbg <= addr < dbg + 8 * w:
        word = e.debugreg[(addr - dbg) // w].to_bytes(w, "little")
    else:
        word = bytes(w)
    t.mm.write(data, word)
    return 0


def _pokeuser(t, tr, e, addr, data):
    wide, w = t.is64, t.word
    dbg = _user_offset(t, addr)
    regs = bytearray(pack(_view(e), wide))
    if addr < len(regs):
        regs[addr:addr + w] = (data & ((1 << 8 * w) - 1)).to_bytes(w, "little")
        new = unpack(bytes(regs), wide)
        _setregs(tr, e, {k: v for k, v in new.items() if v != _view(e).get(k)})
        return 0
    if dbg <= addr < dbg + 8 * w:
        n, v = (addr - dbg) // w, data & ((1 << 8 * w) - 1)
        tr.request(e, {"op": "debugreg", "n": n, "v": v})
        e.debugreg[n] = v
        return 0
    raise KernelError(E.EIO)


def _getregs(t, tr, e, addr, data):
    t.mm.write(data, pack(_view(e), t.is64))
    return 0


def _setregs_req(t, tr, e, addr, data):
    wide = t.is64
    new = unpack(t.mm.read(data, len(pack(_view(e), wide))), wide)
    view = _view(e)
    if not wide:
        # A 32-bit tracer cannot name the upper halves or r8-r15.
        new = {k: v if k == "orig_rax" else (view[k] & ~0xFFFFFFFF) | v
               for k, v in new.items()}
    _setregs(tr, e, {k: v for k, v in new.items() if v != view.get(k)})
    return 0


def _fxsave(tr, e):
    return bytes.fromhex(tr.request(e, {"op": "fpregs"})["data"])


def _fsave(fx):
    """user_i387_ia32_struct (FSAVE layout) from an FXSAVE image."""
    cwd, swd, twd_abridged = struct.unpack_from("<HHB", fx, 0)
    tag = 0
    for i in range(8):
        tag |= (0 if twd_abridged >> i & 1 else 3) << (2 * i)
    head = struct.pack("<7I", 0xFFFF0000 | cwd, 0xFFFF0000 | swd, 0xFFFF0000 | tag,
                       *struct.unpack_from("<I", fx, 8), 0, *struct.unpack_from("<I", fx, 16), 0)
    regs = b"".join(fx[32 + 16 * i:42 + 16 * i] for i in range(8))
    return head + regs


def _getfpregs(t, tr, e, addr, data):
    fx = _fxsave(tr, e)
    t.mm.write(data, fx if t.is64 else _fsave(fx))
    return 0


def _getfpxregs(t, tr, e, addr, data):
    if t.is64:
        raise KernelError(E.EIO)        # an i386-only request
    t.mm.write(data, _fxsave(tr, e))
    return 0


def _setfpregs(t, tr, e, addr, data):
    if not t.is64:
        raise KernelError(E.EIO)        # the FSAVE form is not taken (yet)
    tr.request(e, {"op": "setfpregs", "data": t.mm.read(data, 512).hex()})
    return 0


def _setfpxregs(t, tr, e, addr, data):
    if t.is64:
        raise KernelError(E.EIO)
    tr.request(e, {"op": "setfpregs", "data": t.mm.read(data, 512).hex()})
    return 0


def _iov(t, data):
    fmt = "<QQ" if t.is64 else "<II"
    return fmt, struct.unpack(fmt, t.mm.read(data, struct.calcsize(fmt)))


def _regset(tr, e, note):
    """A regset in the tracee's own layout (task_user_regset_view)."""
    view = _view(e)
    if note == NT_PRSTATUS:
        return pack(view, not is32(view))
    if note == NT_PRFPREG:
        fx = _fxsave(tr, e)
        return _fsave(fx) if is32(view) else fx
    raise KernelError(E.EINVAL)


def _getregset(t, tr, e, addr, data):
    fmt, (base, length) = _iov(t, data)
    blob = _regset(tr, e, addr)
    n = min(length, len(blob))
    t.mm.write(base, blob[:n])
    t.mm.write(data, struct.pack(fmt, base, n))
    return 0


def _setregset(t, tr, e, addr, data):
    fmt, (base, length) = _iov(t, data)
    view = _view(e)
    if addr == NT_PRSTATUS:
        wide = not is32(view)
        blob = bytearray(pack(view, wide))
        n = min(length, len(blob))
        blob[:n] = t.mm.read(base, n)
        new = unpack(bytes(blob), wide)
        _setregs(tr, e, {k: v for k, v in new.items() if v != view.get(k)})
    elif addr == NT_PRFPREG and not is32(view):
        blob = bytearray(_fxsave(tr, e))
        n = min(length, len(blob))
        blob[:n] = t.mm.read(base, n)
        tr.request(e, {"op": "setfpregs", "data": bytes(blob).hex()})
    else:
        raise KernelError(E.EINVAL)
    t.mm.write(data, struct.pack(fmt, base, n))
    return 0
