"""Signal frames as Linux lays them out (arch/x86/kernel/signal.c,
signal_64.c, signal_32.c; arch/x86/include/asm/sigframe.h) and their undoing
by sigreturn. Registers travel as dicts of lower-case register names.

x86-64 rt_sigframe: pretcode(8) | ucontext(304) | siginfo(128) ; fpstate
  ucontext: uc_flags(8) uc_link(8) uc_stack(24) sigcontext(256) uc_sigmask(8)
i386 sigframe: pretcode sig sigcontext(88) fpstate_unused(624) extramask(4) retcode(8)
i386 rt_sigframe: pretcode sig pinfo puc siginfo(128) ucontext(116) retcode(8)
The FPU/SSE state is saved in the 512-byte FXSAVE layout (x87 control and
status, MXCSR, XMM registers), pointed to by sigcontext.fpstate.
"""
import struct

from .errors import KernelError, E
from .tables.unistd import NR_I386

SA_SIGINFO, SA_ONSTACK, SA_RESTART = 0x4, 0x08000000, 0x10000000
SA_NODEFER, SA_RESETHAND, SA_RESTORER = 0x40000000, 0x80000000, 0x04000000
SS_ONSTACK, SS_DISABLE, SS_AUTODISARM = 1, 2, 1 << 31
UC_SIGCONTEXT_SS, UC_STRICT_RESTORE_SS = 0x2, 0x4
NR_SIGRETURN_32, NR_RT_SIGRETURN_32 = NR_I386["sigreturn"], NR_I386["rt_sigreturn"]

# sigcontext register order
SC64 = "r8 r9 r10 r11 r12 r13 r14 r15 rdi rsi rbp rbx rdx rax rcx rsp rip eflags".split()
SC32 = "rdi rsi rbp rsp rbx rdx rcx rax".split()
# EFLAGS bits a sigreturn may change (FIX_EFLAGS in signal.c): AC OF DF TF
# SF ZF AF PF CF RF.
FIX_EFLAGS = (0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x40000 | 0x10000)
FXSAVE_SIZE = 512
FP_MAGIC_OFFSET = 464


SI_KERNEL = 0x80


def siginfo(signo, code, is64, addr=None, pid=0, uid=0, errno=0, status=None):
    """128 bytes of siginfo; the union starts at 16 (x86-64) or 12 (i386).
    status: SIGCHLD's si_status (or a queued signal's si_int), after the uid."""
    head = struct.pack("<iii", signo, errno, code) + (b"\0" * 4 if is64 else b"")
    if addr is not None:
        body = struct.pack("<Q" if is64 else "<I", addr)
    else:
        body = struct.pack("<iI", pid, uid)
        if status is not None:
            body += struct.pack("<i", status)
    return (head + body).ljust(128, b"\0")


def siginfo_32(info):
    """Siginfo is kept in the x86-64 layout; an i386 frame gets the union
    moved up by 4 bytes and its first word cut to 32 bits."""
    return (info[:12] + info[16:]).ljust(128, b"\0")


def _fxsave(fpu):
    """The 512-byte FXSAVE image from a dict of FPU registers."""
    img = bytearray(FXSAVE_SIZE)
    struct.pack_into("<HH", img, 0, fpu.get("fpcw", 0x37F), fpu.get("fpsw", 0))
    struct.pack_into("<II", img, 24, fpu.get("mxcsr", 0x1F80), 0xFFFF)
    for i, v in enumerate(fpu.get("xmm", ())):
        img[160 + 16 * i:176 + 16 * i] = v.to_bytes(16, "little")
    return bytes(img)


def _fxrestore(img, nxmm):
    fpcw, fpsw = struct.unpack_from("<HH", img, 0)
    mxcsr = struct.unpack_from("<I", img, 24)[0]
    if mxcsr & ~0xFFFF:
        raise KernelError(E.EFAULT)      # a reserved MXCSR bit would #GP: Linux refuses
    xmm = [int.from_bytes(img[160 + 16 * i:176 + 16 * i], "little") for i in range(nxmm)]
    return {"fpcw": fpcw, "fpsw": fpsw, "mxcsr": mxcsr, "xmm": xmm}


def frame_sp(t, regs, act_flags, need, is64):
    """Where the frame goes: the alternate stack if asked for and not already
    on it, below the red zone on x86-64 (get_sigframe)."""
    sp = regs["rsp"]
    if is64:
        sp -= 128
    alt_sp, alt_flags, alt_size = t.altstack
    on_alt = alt_sp <= regs["rsp"] < alt_sp + alt_size if not alt_flags & SS_DISABLE else False
    if act_flags & SA_ONSTACK and not alt_flags & SS_DISABLE and not on_alt:
        sp = alt_sp + alt_size
    sp -= need
    if sp < 1024:
        # Below the first page (a stack pointer SYSENTER left at 0): the
        # frame cannot be written, and the task gets SIGSEGV.
        raise KernelError(E.EFAULT)
    return sp, on_alt


def _stack_t(t, regs, is64):
    alt_sp, alt_flags, alt_size = t.altstack
    if alt_flags & SS_DISABLE:
        flags = SS_DISABLE
    elif alt_sp <= regs["rsp"] < alt_sp + alt_size:
        flags = SS_ONSTACK
    else:
        flags = 0
    if is64:
        return struct.pack("<QiiQ", alt_sp, flags, 0, alt_size)
    return struct.pack("<IiI", alt_sp, flags, alt_size)


def setup_rt_frame_64(t, regs, fpu, signo, act, info, oldmask, trap=(0, 0, 0)):
    """Build the x86-64 frame; return the registers the handler starts with."""
    handler, flags, restorer, _mask = act
    if not flags & SA_RESTORER:
        raise KernelError(E.EFAULT)      # x86-64 has no default restorer: the task dies
    sp, _ = frame_sp(t, regs, flags, FXSAVE_SIZE + 64, True)
    fp_addr = sp & ~63
    frame = ((fp_addr - 440) & ~15) - 8
    trapno, err, cr2 = trap
    sc = struct.pack("<18Q", *[regs.get(r, 0) & (2**64 - 1) for r in SC64])
    sc += struct.pack("<HHHH", regs.get("cs", 0x33), 0, 0, regs.get("ss", 0x2B))
    sc += struct.pack("<QQQQQ", err, trapno, oldmask, cr2, fp_addr) + bytes(64)
    # Strict SS restore only for a frame taken in 64-bit mode
    # (user_64bit_mode: CS is __USER_CS).
    strict = UC_STRICT_RESTORE_SS if regs.get("cs", 0x33) == USER_CS else 0
    uc = struct.pack("<QQ", UC_SIGCONTEXT_SS | strict, 0) \
        + _stack_t(t, regs, True) + sc + struct.pack("<Q", oldmask)
    data = struct.pack("<Q", restorer) + uc + info
    t.mm.write(frame, data)
    t.mm.write(fp_addr, _fxsave(fpu))
    new = dict(regs)
    new.update(rip=handler, rsp=frame, rdi=signo, rsi=frame + 8 + 304, rdx=frame + 8, rax=0,
               eflags=regs["eflags"] & ~(0x100 | 0x400 | 0x10000 | 0x40000), cs=0x33,
               ss=_handler_ss(t, regs.get("ss", USER_DS)))
    return new


def _handler_ss(t, ss):
    """__setup_rt_frame's force_valid_ss: the handler keeps an SS that is a
    present DPL-3 read-write data segment (a 16-bit LDT stack, say), and
    gets __USER_DS otherwise."""
    if ss == USER_DS:
        return ss
    high = _high(t, ss)
    if high is not None and high & (_S | _P | _CODE | _RW | 0x6000) == _S | _P | _RW | 0x6000:
        return ss
    return USER_DS


def restore_rt_frame_64(t, sp):
    """rt_sigreturn: registers, mask and FPU state from the frame at sp - 8."""
    frame = sp - 8
    uc = t.mm.read(frame + 8, 304)
    sc = uc[40:296]
    vals = struct.unpack_from("<18Q", sc, 0)
    regs = dict(zip(SC64, vals))
    cs, _gs, _fs, ss = struct.unpack_from("<HHHH", sc, 144)
    fp_addr = struct.unpack_from("<Q", sc, 184)[0]
    uc_flags = struct.unpack_from("<Q", uc, 0)[0]
    # Both are restored (forced to RPL 3) whatever uc_flags says; SS is
    # mended only for a frame that does not ask to be strict.
    regs["cs"], regs["ss"] = cs | 3, ss | 3
    force_valid_ss(t, regs, uc_flags)
    mask = struct.unpack_from("<Q", uc, 296)[0]
    alt = struct.unpack_from("<QiiQ", uc, 16)
    return regs, mask, fp_addr, (alt[0], alt[1], alt[3])


def restore_fpu(t, fp_addr, is64):
    """The FPU state a sigreturn frame points to (None: none saved);
    EFAULT when it cannot be read or would fault in FXRSTOR."""
    return _fxrestore(t.mm.read(fp_addr, FXSAVE_SIZE), 16 if is64 else 8) if fp_addr else None


def _sigcontext_32(regs, fp_addr, oldmask, trap):
    trapno, err, cr2 = trap
    seg = [regs.get(r, 0) & 0xFFFF for r in ("gs", "fs", "es", "ds")]
    g = [regs.get(r, 0) & 0xFFFFFFFF for r in SC32]
    return struct.pack("<HHHHHHHH", seg[0], 0, seg[1], 0, seg[2], 0, seg[3], 0) \
        + struct.pack("<8I", *g) + struct.pack("<III", trapno, err, regs["rip"] & 0xFFFFFFFF) \
        + struct.pack("<HHII", regs.get("cs", 0x23), 0, regs["eflags"] & 0xFFFFFFFF,
                      regs["rsp"] & 0xFFFFFFFF) \
        + struct.pack("<HHIII", regs.get("ss", 0x2B), 0, fp_addr, oldmask & 0xFFFFFFFF, cr2)


def _regs_from_sigcontext_32(sc):
    gs, _, fs, _, es, _, ds, _ = struct.unpack_from("<8H", sc, 0)
    g = struct.unpack_from("<8I", sc, 16)
    regs = dict(zip(SC32, g))
    _trapno, _err, ip = struct.unpack_from("<III", sc, 48)
    cs, _, flags, _sp_at_signal = struct.unpack_from("<HHII", sc, 60)
    ss, _, fp_addr = struct.unpack_from("<HHI", sc, 72)
    regs.update(rip=ip, cs=cs | 3, eflags=flags, ss=ss | 3, gs=gs, fs=fs, es=es, ds=ds)
    return regs, fp_addr


def setup_frame_32(t, regs, fpu, signo, act, info, oldmask, vdso, trap=(0, 0, 0)):
    """Build an i386 sigframe or rt_sigframe (SA_SIGINFO); return the
    handler's registers. The return goes through SA_RESTORER, else the
    vDSO's __kernel_(rt_)sigreturn, else the retcode in the frame."""
    handler, flags, restorer, _mask = act
    rt = bool(flags & SA_SIGINFO)
    size = 4 + 4 + 4 + 4 + 128 + 116 + 8 if rt else 4 + 4 + 88 + 624 + 4 + 8
    sp, _ = frame_sp(t, regs, flags, FXSAVE_SIZE + 16, False)
    fp_addr = sp & ~15
    frame = ((fp_addr - size + 4) & ~15) - 4        # (sp + 4) % 16 == 0 at entry
    sc = _sigcontext_32(regs, fp_addr, oldmask, trap)
    if rt:
        retcode = struct.pack("<BIH", 0xB8, NR_RT_SIGRETURN_32, 0x80CD) + b"\0"
        ret_addr = frame + 4 + 4 + 4 + 4 + 128 + 116
    else:
        retcode = struct.pack("<BBIH", 0x58, 0xB8, NR_SIGRETURN_32, 0x80CD)
        ret_addr = frame + 4 + 4 + 88 + 624 + 4
    if flags & SA_RESTORER:
        pretcode = restorer
    elif vdso:
        pretcode = vdso["__kernel_rt_sigreturn" if rt else "__kernel_sigreturn"]
    else:
        pretcode = ret_addr
    if rt:
        uc = struct.pack("<II", 0, 0) + _stack_t(t, regs, False) + sc \
            + struct.pack("<Q", oldmask)
        data = struct.pack("<IiII", pretcode, signo, frame + 16, frame + 16 + 128) + info + uc \
            + retcode
    else:
        data = struct.pack("<Ii", pretcode, signo) + sc + bytes(624) \
            + struct.pack("<I", oldmask >> 32) + retcode
    t.mm.write(frame, data)
    t.mm.write(fp_addr, _fxsave(fpu))
    new = dict(regs)
    new.update(rip=handler, rsp=frame, rax=signo, rdx=frame + 16 if rt else 0,
               rcx=frame + 16 + 128 if rt else 0,
               eflags=regs["eflags"] & ~(0x100 | 0x400 | 0x10000 | 0x40000),
               cs=0x23, ss=0x2B, ds=0x2B, es=0x2B)
    return new


def restore_frame_32(t, sp, rt):
    """sigreturn / rt_sigreturn for i386 frames."""
    if rt:
        frame = sp - 4
        uc = t.mm.read(frame + 16 + 128, 116)
        regs, fp_addr = _regs_from_sigcontext_32(uc[20:108])
        mask = struct.unpack_from("<Q", uc, 108)[0]
        alt = struct.unpack_from("<IiI", uc, 8)
    else:
        frame = sp - 8
        raw = t.mm.read(frame, 4 + 4 + 88 + 624 + 4)
        regs, fp_addr = _regs_from_sigcontext_32(raw[8:96])
        oldmask = struct.unpack_from("<I", raw, 8 + 80)[0]
        extra = struct.unpack_from("<I", raw, 96 + 624)[0]
        mask = oldmask | (extra << 32)
        alt = None
    return regs, mask, fp_addr, alt


# --- the segments a sigreturn hands back ------------------------------------------------
# A sigreturn returns through IRET, which loads CS and SS from the frame
# (forced to RPL 3) and faults when they do not describe a user code and
# stack segment: Linux takes that fault as if user mode had raised it
# (fixup_bad_iret) and the task gets SIGSEGV (#GP; SIGBUS for a segment not
# present, #NP/#SS), with the bad selectors in the frame it may see. The
# i386 data segments are loaded by the kernel itself (reload_segments),
# where a selector that cannot be loaded becomes the null selector instead
# (loadsegment's fixup). Descriptors are read from the modelled GDT (sysgate
# models no LDT: selectors with TI set are as on a task without one).
GDT_ENTRIES = 16              # Linux's GDT, as cpu/engine lays it out
USER_CS, USER_DS = 0x33, 0x2B
SIGSEGV_, SIGBUS_ = 11, 7
_S, _CODE, _CONFORMING, _RW, _P = 1 << 12, 1 << 11, 1 << 10, 1 << 9, 1 << 15
_L, _DB, _G = 1 << 21, 1 << 22, 1 << 23


def _high(t, sel):
    """The upper dword of the GDT descriptor sel names; None for the null
    selector, an LDT one, or one past the GDT."""
    index = sel >> 3
    if sel & 4:
        # The LDT's descriptors, read here rather than through kernel.ldt,
        # which queues its SIGSEGV with this module's siginfo.
        if index >= getattr(t.mm, "ldt_entries", 0):
            return None
        return struct.unpack("<I", t.thread.cpu.read_ldt_entry(index)[4:])[0]
    if not index or index >= GDT_ENTRIES:
        return None
    return struct.unpack("<I", t.thread.read_gdt(index)[4:])[0]


def _dpl(high):
    return (high >> 13) & 3


def _stack_ok(high):
    return high is not None and high & _S and not high & _CODE and high & _RW \
        and _dpl(high) == 3


def load_data_segment(t, sel):
    """What loadsegment leaves in DS/ES/FS/GS for sel (RPL 3, loaded at
    CPL 0): sel when the CPU takes it, else the null selector."""
    if not sel & 0xFFFC:
        return sel
    high = _high(t, sel)
    if high is None or not high & _S or high & (_CODE | _RW) == _CODE:
        return 0
    if not (high & _CODE and high & _CONFORMING) and _dpl(high) != 3:
        return 0
    return sel if high & _P else 0


def force_valid_ss(t, regs, uc_flags):
    """x86-64 without UC_STRICT_RESTORE_SS, returning to 64-bit code: an SS
    that is not a present DPL-3 writable data segment becomes __USER_DS."""
    if uc_flags & UC_STRICT_RESTORE_SS or regs["cs"] != USER_CS:
        return
    high = _high(t, regs["ss"])
    if not (_stack_ok(high) and high & _P):
        regs["ss"] = USER_DS


def iret_fault(t, regs):
    """(signo, trapno, error code) of the fault IRET raises returning to
    regs, or None when it returns. Checks in the order the CPU makes them:
    CS, then SS, then the instruction pointer."""
    cs, ss, ip = regs["cs"], regs["ss"], regs["rip"]
    if ss & 4:
        # A stack segment from the LDT takes Linux's espfix64 way out, where
        # one that does not load faults before IRET looks at CS: #GP(0)
        # (measured here, absent and not-present entries alike).
        shigh = _high(t, ss)
        if not (_stack_ok(shigh) and shigh & _P):
            return SIGSEGV_, 13, 0
    if not cs & 0xFFFC:
        return SIGSEGV_, 13, 0
    high = _high(t, cs)
    if high is None or not high & _S or not high & _CODE \
            or (_dpl(high) > 3 if high & _CONFORMING else _dpl(high) != 3) \
            or high & _L and high & _DB:
        return SIGSEGV_, 13, cs & 0xFFFC
    if not high & _RW:
        # Execute-only code is a valid CS, but Unicorn cannot load one.
        return SIGSEGV_, 13, cs & 0xFFFC
    if not high & _P:
        return SIGBUS_, 11, cs & 0xFFFC
    long_mode = high & _L
    if not ss & 0xFFFC:
        return SIGSEGV_, 13, 0
    shigh = _high(t, ss)
    if not _stack_ok(shigh):
        return SIGSEGV_, 13, ss & 0xFFFC
    if not shigh & _P:
        return SIGBUS_, 12, ss & 0xFFFC
    top = ip >> 47
    if top and top != (1 << 17) - 1:
        return SIGSEGV_, 13, 0                # non-canonical, into either mode
    if not long_mode:
        # Into 32-bit code the upper half of a canonical RIP is dropped, not
        # refused (measured here: the task faults at the 32-bit address).
        ip &= 0xFFFFFFFF
        raw = t.thread.read_gdt(cs >> 3) if not cs & 4 else t.thread.cpu.read_ldt_entry(cs >> 3)
        limit = struct.unpack_from("<H", raw)[0] | (high & 0xF0000)
        if high & _G:
            limit = (limit << 12) | 0xFFF
        if ip > limit:
            return SIGSEGV_, 13, 0
        regs["rip"] = ip
        # So is the upper half of RSP (measured: the frame of the next
        # trap from 16- or 32-bit code shows it zero).
        regs["rsp"] &= 0xFFFFFFFF
    return None


DATA_SEGMENTS = ("gs", "fs", "ds", "es")


def reload_segments_32(t, regs, cur):
    """ia32 sigreturn: each data segment the frame changed is loaded (with
    RPL 3), as reload_segments does; one the CPU refuses becomes null. A
    null selector stays as the frame gave it (measured: its RPL shows in
    the frame of a fault that follows at once)."""
    for seg in DATA_SEGMENTS:
        sel = regs[seg] & 0xFFFF
        if not sel & 0xFFFC:
            regs[seg] = sel
        else:
            want = sel | 3
            regs[seg] = cur[seg] if want == cur[seg] else load_data_segment(t, want)


def after_iret_32(regs):
    """What a 32-bit task holds once IRET has taken it back to user mode: a
    null data selector reads as 0 (measured on this host's CPU)."""
    for seg in DATA_SEGMENTS:
        if not regs[seg] & 0xFFFC:
            regs[seg] = 0
