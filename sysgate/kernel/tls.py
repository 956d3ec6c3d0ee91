"""Thread-local storage: %fs base on x86-64 (arch_prctl), GDT TLS entries
12-14 for %gs on i386 (set_thread_area), as arch/x86/kernel/tls.c."""
import struct

from .errors import KernelError, E
from .registry import syscall

ARCH_SET_GS, ARCH_SET_FS, ARCH_GET_FS, ARCH_GET_GS = 0x1001, 0x1002, 0x1003, 0x1004
TLS_MIN, TLS_COUNT = 12, 3
USER_DESC = struct.Struct("<iIII")


@syscall("arch_prctl", "int ulong")
def sys_arch_prctl(t, code, addr):
    if not t.is64:
        raise KernelError(E.EINVAL)
    if code in (ARCH_SET_FS, ARCH_SET_GS):
        if addr >= t.mm.task_size:
            raise KernelError(E.EPERM)
        t.thread.set_base("fs" if code == ARCH_SET_FS else "gs", addr)
        return 0
    if code in (ARCH_GET_FS, ARCH_GET_GS):
        t.write_word(addr, t.thread.get_base("fs" if code == ARCH_GET_FS else "gs"))
        return 0
    raise KernelError(E.EINVAL)


def _descriptor(base, limit, flags):
    """The GDT descriptor for a user_desc, or None where Linux's
    tls_desc_okay refuses it: TLS entries are present 32-bit data segments
    (16-bit ones would need espfix, code and not-present ones are attack
    surface), or empty."""
    seg_32bit, contents = flags & 1, (flags >> 1) & 3
    read_exec_only, limit_in_pages = (flags >> 3) & 1, (flags >> 4) & 1
    seg_not_present, useable = (flags >> 5) & 1, (flags >> 6) & 1
    # All zeros (LDT_zero) or Linux's "empty" pattern (LDT_empty): clear.
    if base == 0 and limit == 0 and (flags & 0x7F) in (0, 0x28):   # lm aside
        return bytes(8)
    if not seg_32bit or contents > 1 or seg_not_present:
        return None
    access = 0x10 | 0x60 | (contents << 2) | ((read_exec_only ^ 1) << 1) | 0x80
    gran = (limit_in_pages << 3) | (seg_32bit << 2) | (useable)
    return struct.pack("<HHBBBB", limit & 0xFFFF, base & 0xFFFF, (base >> 16) & 0xFF,
                       access, (gran << 4) | ((limit >> 16) & 0xF), (base >> 24) & 0xFF)


def _decode(raw):
    lim0, b0, b1, access, gl, b2 = struct.unpack("<HHBBBB", raw)
    base = b0 | (b1 << 16) | (b2 << 24)
    limit = lim0 | ((gl & 0xF) << 16)
    gran = gl >> 4
    flags = ((gran >> 2) & 1) | (((access >> 2) & 3) << 1) | ((((access >> 1) & 1) ^ 1) << 3) \
        | (((gran >> 3) & 1) << 4) | ((((access >> 7) & 1) ^ 1) << 5) | ((gran & 1) << 6)
    return base, limit, flags


@syscall("set_thread_area", "ptr")
def sys_set_thread_area(t, uinfo):
    entry, base, limit, flags = USER_DESC.unpack(t.mm.read(uinfo, USER_DESC.size))
    desc = _descriptor(base, limit, flags)
    if desc is None:
        raise KernelError(E.EINVAL)
    if entry == -1:
        for i in range(TLS_MIN, TLS_MIN + TLS_COUNT):
            if t.thread.read_gdt(i) == bytes(8):
                entry = i
                break
        else:
            raise KernelError(E.ESRCH)
        t.mm.write(uinfo, struct.pack("<i", entry))
    if not TLS_MIN <= entry < TLS_MIN + TLS_COUNT:
        raise KernelError(E.EINVAL)
    t.thread.write_gdt(entry, desc)
    from .ldt import refresh_tls_segments
    refresh_tls_segments(t, (entry << 3) | 3)
    return 0


@syscall("get_thread_area", "ptr")
def sys_get_thread_area(t, uinfo):
    entry = struct.unpack("<i", t.mm.read(uinfo, 4))[0]
    if not TLS_MIN <= entry < TLS_MIN + TLS_COUNT:
        raise KernelError(E.EINVAL)
    raw = t.thread.read_gdt(entry)
    base, limit, flags = _decode(raw) if raw != bytes(8) else (0, 0, 0x28)
    t.mm.write(uinfo, USER_DESC.pack(entry, base, limit, flags))
    return 0


def set_tls(t, tls):
    """clone's CLONE_SETTLS: the %fs base (x86-64) or a user_desc (i386)."""
    if t.is64:
        if tls >= t.mm.task_size:
            raise KernelError(E.EPERM)
        t.thread.set_base("fs", tls)
    else:
        sys_set_thread_area(t, tls)
