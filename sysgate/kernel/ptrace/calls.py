"""ptrace(2), as kernel/ptrace.c and arch/x86/kernel/ptrace.c answer it:
the request table, resuming, memory and stop details (the register
requests are in regsets.py; importing processvm.py registers
process_vm_readv/writev). Only the session's own processes can be traced;
the first guest cannot TRACEME (its parent is not a guest)."""
import errno as E
import os
import struct

from ..errors import KernelError
from ..registry import syscall
from ..sigframe import siginfo_32
from . import channel
from . import tracer as tracing
from .consts import (ATTACH, EVENT_STOP, CONT, DETACH, GET_SYSCALL_INFO, GETEVENTMSG, GETFPREGS,
                     GETFPXREGS, GETREGS, GETREGSET, GETSIGINFO, INTERRUPT, KILL, LISTEN,
                     NSIG, O_MASK, PEEKDATA, PEEKTEXT, PEEKUSR, POKEDATA, POKETEXT, POKEUSR,
                     SEIZE, SETFPREGS, SETFPXREGS, SETOPTIONS,
                     SETREGS, SETREGSET, SETSIGINFO, SINGLESTEP, SYSCALL, SYSEMU,
                     SYSEMU_SINGLESTEP, TRACEME, GET_THREAD_AREA, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64,
                     SYSCALL_INFO_ENTRY, SYSCALL_INFO_EXIT, SYSCALL_INFO_NONE)
from .regs import M64, signed
from .attach import attach
from .notes import INTERRUPT_BIT, host_stopped, send_note, wake
from .processvm import _guest
from .regsets import (_getfpregs, _getfpxregs, _getregs, _getregset, _peekuser, _pokeuser,
                      _setfpregs, _setfpxregs, _setregs_req, _setregset, _view)
from .tracee import Tracee


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
        if not _guest(t, pid) and pid != t.pid:
            raise KernelError(E.ESRCH)
        if req == SEIZE and (addr or data & ~O_MASK):
            raise KernelError(E.EIO)
        if pid == t.pid:
            raise KernelError(E.EPERM)
    tr = tracing.get(t)
    if tr is None:
        raise KernelError(E.ESRCH)
    tr.pump()
    if req in (ATTACH, SEIZE):
        return attach(t, tr, pid, req == SEIZE, data if req == SEIZE else 0)
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
        if not e.seized:
            raise KernelError(E.EIO)
        if e.stop is not None:
            # Stopped: another trap after this one (unless a trap into
            # PTRACE_EVENT_STOP comes first), in order with our requests.
            channel.send(e.sock, {"op": "interrupt"})
        else:
            send_note(e.tgid, INTERRUPT_BIT, pid)   # running, blocked or listening
            if host_stopped(e.tgid):                # listening, stopped for its parent
                wake(e.tgid)
        return 0
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


def _listen(t, tr, e, addr, data):
    """PTRACE_LISTEN: only at a seized tracee's PTRACE_EVENT_STOP."""
    code = struct.unpack_from("<i", bytes.fromhex(e.stop["siginfo"] or "00" * 12), 8)[0]
    if not e.seized or code >> 8 != EVENT_STOP:
        raise KernelError(E.EIO)
    tr.resume(e, {"op": "listen"})
    return 0


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
    if not info:
        raise KernelError(E.EINVAL)     # a traditional group-stop has no last_siginfo
    t.mm.write(data, info if t.is64 else siginfo_32(info))
    return 0


def _setsiginfo(t, tr, e, addr, data):
    raw = t.mm.read(data, 128)
    if not e.stop["siginfo"]:
        raise KernelError(E.EINVAL)
    if not t.is64:
        raw = (raw[:12] + bytes(4) + raw[12:124])
    tr.request(e, {"op": "setsiginfo", "data": raw.hex()})
    e.stop["siginfo"] = raw.hex()
    return 0


def _get_syscall_info(t, tr, e, addr, data):
    stop = e.stop
    view = _view(e)
    abi = stop.get("abi", "x86_64")
    code = struct.unpack_from("<i", bytes.fromhex(stop["siginfo"] or "00" * 12), 8)[0]
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


def _get_thread_area(t, tr, e, addr, data):
    """A TLS entry of the tracee thread's GDT (libthread_db finds an i386
    thread's descriptor so), as do_get_thread_area fills a user_desc."""
    from ..tls import TLS_COUNT, TLS_MIN, USER_DESC, _decode
    idx = signed(addr, 32)
    if idx < 0:
        raise KernelError(E.EIO)
    if not TLS_MIN <= idx < TLS_MIN + TLS_COUNT:
        raise KernelError(E.EINVAL)
    raw = bytes.fromhex(tr.request(e, {"op": "gdt", "n": idx})["data"])
    base, limit, flags = _decode(raw) if raw != bytes(8) else (0, 0, 0x28)
    t.mm.write(data, USER_DESC.pack(idx, base, limit, flags))
    return 0


REQUESTS = {
    PEEKTEXT: _peek, PEEKDATA: _peek, POKETEXT: _poke, POKEDATA: _poke,
    PEEKUSR: _peekuser, POKEUSR: _pokeuser,
    CONT: _resume("cont"), SYSCALL: _resume("syscall"), SINGLESTEP: _resume("step"),
    SYSEMU: _resume("sysemu"), SYSEMU_SINGLESTEP: _resume("sysemu_step"),
    LISTEN: _listen,
    DETACH: _detach,
    GETREGS: _getregs, SETREGS: _setregs_req, GETFPREGS: _getfpregs, SETFPREGS: _setfpregs,
    GETFPXREGS: _getfpxregs, SETFPXREGS: _setfpxregs,
    GETREGSET: _getregset, SETREGSET: _setregset,
    SETOPTIONS: _setoptions, GETEVENTMSG: _geteventmsg,
    GETSIGINFO: _getsiginfo, SETSIGINFO: _setsiginfo,
    GET_SYSCALL_INFO: _get_syscall_info, GET_THREAD_AREA: _get_thread_area,
}
