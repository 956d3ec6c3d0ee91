"""ptrace(2) and process_vm_readv/writev, as kernel/ptrace.c and
arch/x86/kernel/ptrace.c answer them. Only the session's own processes can
be traced; the first guest cannot TRACEME (its parent is not a guest)."""
import errno as E
import os
import struct

from ...abi.consts import PROT_READ, PROT_WRITE
from ..errors import KernelError
from ..registry import syscall
from ..sigframe import siginfo_32
from . import tracer as tracing
from .consts import (ATTACH, CONT, DETACH, GET_SYSCALL_INFO, GETEVENTMSG, GETFPREGS,
                     GETFPXREGS, GETREGS, GETREGSET, GETSIGINFO, INTERRUPT, KILL, LISTEN,
                     NSIG, NT_PRFPREG, NT_PRSTATUS, O_MASK, PEEKDATA, PEEKTEXT, PEEKUSR,
                     POKEDATA, POKETEXT, POKEUSR, SEIZE, SETFPREGS, SETFPXREGS, SETOPTIONS,
                     SETREGS, SETREGSET, SETSIGINFO, SINGLESTEP, SYSCALL, SYSEMU,
                     SYSEMU_SINGLESTEP, TRACEME, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64,
                     SYSCALL_INFO_ENTRY, SYSCALL_INFO_EXIT, SYSCALL_INFO_NONE)
from .regs import M64, is32, pack, signed, unpack, user_area
from .attach import attach
from .tracee import Tracee

IOV_MAX = 1024


def _guest(t, pid):
    from ..signal import guest_processes
    return pid in guest_processes(t)


def traceme(t):
    if t.debugger is not None:
        raise KernelError(E.EPERM)      # traced already (or held by the gdb stub)
    parent = os.getppid()
    if t.session == os.getpid() or not _guest(t, parent):
        raise KernelError(E.EPERM)      # the parent is outside the session
    t.debugger = Tracee(t, parent)
    return 0


@syscall("ptrace", "long pid addr addr")
def sys_ptrace(t, req, pid, addr, data):
    if req == TRACEME:
        return traceme(t)
    if req in (ATTACH, SEIZE):
        if pid == t.pid or not _guest(t, pid):
            raise KernelError(E.EPERM if pid == t.pid else E.ESRCH)
    tr = tracing.get(t)
    if tr is None:
        raise KernelError(E.ESRCH)
    tr.pump()
    if req == ATTACH:
        return attach(t, tr, pid)
    if req == SEIZE:
        # SEIZE's group-stop and INTERRUPT traps are not modelled: refused
        # as without the right (strace then starts its tracee by TRACEME).
        raise KernelError(E.EPERM)
    e = tr.tracees.get(pid)
    if e is None or e.gone:
        raise KernelError(E.ESRCH)
    if req == KILL:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
        return 0
    if req == INTERRUPT:
        raise KernelError(E.EIO)        # only for SEIZE'd tracees
    if e.stop is None:
        raise KernelError(E.ESRCH)      # running: not in a ptrace-stop
    fn = REQUESTS.get(req)
    if fn is None:
        raise KernelError(E.EIO)
    return fn(t, tr, e, addr, data)


# --- resuming --------------------------------------------------------------------
def _resume(mode):
    def resume(t, tr, e, addr, data):
        if not 0 <= data <= NSIG:
            raise KernelError(E.EIO)
        tr.resume(e, {"op": "resume", "mode": mode, "sig": data})
        return 0
    return resume


def _detach(t, tr, e, addr, data):
    if not 0 <= data <= NSIG:
        raise KernelError(E.EIO)
    tr.resume(e, {"op": "detach", "sig": data})
    tr.forget(e.pid)
    return 0


# --- memory ----------------------------------------------------------------------
def _peek(t, tr, e, addr, data):
    w = t.word
    try:
        word = bytes.fromhex(tr.request(e, {"op": "read", "addr": addr, "n": w})["data"])
    except KernelError as err:
        raise KernelError(E.ESRCH if err.errno == E.ESRCH else E.EIO) from None
    if len(word) != w:
        raise KernelError(E.EIO)
    t.mm.write(data, word)
    return 0


def _poke(t, tr, e, addr, data):
    w = t.word
    raw = (data & ((1 << 8 * w) - 1)).to_bytes(w, "little")
    try:
        tr.request(e, {"op": "write", "addr": addr, "data": raw.hex()})
    except KernelError as err:
        raise KernelError(E.ESRCH if err.errno == E.ESRCH else E.EIO) from None
    return 0


# --- registers ---------------------------------------------------------------------
def _view(e):
    return {k: int(v) for k, v in e.stop["view"].items()}


def _setregs(tr, e, new):
    tr.request(e, {"op": "setregs", "regs": new})
    e.stop["view"].update(new)


def _peekuser(t, tr, e, addr, data):
    wide = t.is64
    w = t.word
    dbg, size = user_area(wide)
    if addr & (w - 1) or not 0 <= addr < size:
        raise KernelError(E.EIO)
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
    wide = t.is64
    w = t.word
    dbg, size = user_area(wide)
    if addr & (w - 1) or not 0 <= addr < size:
        raise KernelError(E.EIO)
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


# --- stop details --------------------------------------------------------------
def _setoptions(t, tr, e, addr, data):
    if data & ~O_MASK:
        raise KernelError(E.EINVAL)
    tr.request(e, {"op": "options", "v": data})
    e.options = data
    return 0


def _geteventmsg(t, tr, e, addr, data):
    t.mm.write(data, (e.stop.get("msg", 0) & ((1 << 8 * t.word) - 1)).to_bytes(t.word, "little"))
    return 0


def _getsiginfo(t, tr, e, addr, data):
    info = bytes.fromhex(e.stop["siginfo"])
    t.mm.write(data, info if t.is64 else siginfo_32(info))
    return 0


def _setsiginfo(t, tr, e, addr, data):
    raw = t.mm.read(data, 128)
    if not t.is64:
        raw = (raw[:12] + bytes(4) + raw[12:124])
    tr.request(e, {"op": "setsiginfo", "data": raw.hex()})
    e.stop["siginfo"] = raw.hex()
    return 0


def _get_syscall_info(t, tr, e, addr, data):
    stop = e.stop
    view = _view(e)
    abi = stop.get("abi", "x86_64")
    code = struct.unpack_from("<i", bytes.fromhex(stop["siginfo"]), 8)[0]
    op = SYSCALL_INFO_NONE
    if code == 5 | 0x80:
        op = {"entry": SYSCALL_INFO_ENTRY, "exit": SYSCALL_INFO_EXIT}.get(stop.get("kind"), op)
    arch = AUDIT_ARCH_I386 if abi == "i386" else AUDIT_ARCH_X86_64
    head = struct.pack("<B3xIQQ", op, arch, view["rip"], view["rsp"])
    bits = 32 if abi == "i386" else 64
    if op == SYSCALL_INFO_ENTRY:
        names = ("rbx", "rcx", "rdx", "rsi", "rdi", "rbp") if bits == 32 else \
            ("rdi", "rsi", "rdx", "r10", "r8", "r9")
        nr = signed(view["orig_rax"], bits) & M64
        info = head + struct.pack("<7Q", nr, *(view[n] for n in names))
    elif op == SYSCALL_INFO_EXIT:
        err = signed(view["rax"], bits)
        is_error = -4095 <= err < 0
        rval = err if is_error else view["rax"]
        info = head + struct.pack("<QB", rval & M64, is_error)
    else:
        info = head
    t.mm.write(data, info[:min(addr, len(info))])
    return len(info)


REQUESTS = {
    PEEKTEXT: _peek, PEEKDATA: _peek, POKETEXT: _poke, POKEDATA: _poke,
    PEEKUSR: _peekuser, POKEUSR: _pokeuser,
    CONT: _resume("cont"), SYSCALL: _resume("syscall"), SINGLESTEP: _resume("step"),
    SYSEMU: _resume("sysemu"),
    DETACH: _detach,
    GETREGS: _getregs, SETREGS: _setregs_req, GETFPREGS: _getfpregs, SETFPREGS: _setfpregs,
    GETFPXREGS: _getfpxregs, SETFPXREGS: _setfpxregs,
    GETREGSET: _getregset, SETREGSET: _setregset,
    SETOPTIONS: _setoptions, GETEVENTMSG: _geteventmsg,
    GETSIGINFO: _getsiginfo, SETSIGINFO: _setsiginfo,
    GET_SYSCALL_INFO: _get_syscall_info,
}
# Not modelled yet: answered as a kernel without them would (EIO).
_ = (SYSEMU_SINGLESTEP, LISTEN)


# --- process_vm_readv / process_vm_writev ---------------------------------------------
def _iovecs(t, addr, count):
    if count > IOV_MAX:
        raise KernelError(E.EINVAL)
    if not count:
        return []
    fmt = "<QQ" if t.is64 else "<II"
    size = struct.calcsize(fmt)
    raw = t.mm.read(addr, size * count)
    out = [struct.unpack_from(fmt, raw, i * size) for i in range(count)]
    total = 0
    for _, n in out:
        total += n
        if n >> 63 or total > 0x7FFFF000:
            raise KernelError(E.EINVAL)
    return out


def _vm(t, pid, local, lcount, remote, rcount, flags, write):
    if flags:
        raise KernelError(E.EINVAL)
    liov = _iovecs(t, local, lcount)
    if not any(n for _, n in liov):
        return 0               # process_vm_rw: nothing to copy, no task looked up
    riov = _iovecs(t, remote, rcount)
    if not sum(n for _, n in riov):
        return 0
    if pid == t.pid:
        peer = None
    else:
        if not _guest(t, pid):
            raise KernelError(E.ESRCH)
        tr = tracing.get(t)
        if tr is not None:
            tr.pump()
        e = tr.tracees.get(pid) if tr is not None else None
        if e is None or e.stop is None:
            raise KernelError(E.EPERM)     # only a stopped tracee's memory is reachable
        peer = (tr, e)
    # The local side first: a bad local buffer is EFAULT before anything moves.
    done = 0
    li, loff = 0, 0
    for raddr, rlen in riov:
        off = 0
        while off < rlen:
            while li < len(liov) and loff >= liov[li][1]:
                li, loff = li + 1, 0
            if li >= len(liov):
                return done
            chunk = min(rlen - off, liov[li][1] - loff, 1 << 16)
            laddr = liov[li][0] + loff
            try:
                if write:
                    data = t.mm.read(laddr, chunk)
                    n = _remote_write(t, peer, raddr + off, data)
                else:
                    data = _remote_read(t, peer, raddr + off, chunk)
                    t.mm.write(laddr, data)
                    n = len(data)
            except KernelError as err:
                if done:
                    return done
                raise KernelError(E.EFAULT if err.errno == E.EIO else err.errno) from None
            done += n
            if n < chunk:
                return done
            off += chunk
            loff += chunk
    return done


def _own_extent(t, addr, n, prot):
    """The caller's own memory is copied up to the first page it cannot
    reach, as process_vm_rw's page pinning stops there."""
    n = t.mm.extent(addr, n, prot)
    if not n:
        raise KernelError(E.EFAULT)
    return n


def _remote_read(t, peer, addr, n):
    if peer is None:
        return t.mm.read(addr, _own_extent(t, addr, n, PROT_READ))
    tr, e = peer
    return bytes.fromhex(tr.request(e, {"op": "read", "addr": addr, "n": n})["data"])


def _remote_write(t, peer, addr, data):
    if peer is None:
        n = _own_extent(t, addr, len(data), PROT_WRITE)
        t.mm.write(addr, data[:n])
        return n
    tr, e = peer
    tr.request(e, {"op": "write", "addr": addr, "data": data.hex()})
    return len(data)


@syscall("process_vm_readv", "pid ptr ulong ptr ulong ulong")
def sys_process_vm_readv(t, pid, local, lcount, remote, rcount, flags):
    return _vm(t, pid, local, lcount, remote, rcount, flags, False)


@syscall("process_vm_writev", "pid ptr ulong ptr ulong ulong")
def sys_process_vm_writev(t, pid, local, lcount, remote, rcount, flags):
    return _vm(t, pid, local, lcount, remote, rcount, flags, True)
