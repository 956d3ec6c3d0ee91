"""modify_ldt: the process's local descriptor table, as arch/x86/kernel/ldt.c.

The table itself lives in the CPU's kernel-only memory (cpu.engine's
LDT_ADDR, which LDTR always points at), so user code loads LDT selectors,
far-jumps into LDT code segments and runs LAR/LSL on them with the real
CPU's checks (a not-present segment is #NP, SIGBUS). What Python keeps is
how many entries the table has (read_ldt's answer): the address space's,
shared by its threads, copied by fork, dropped by exec with the CPU.
"""
import struct

from .errors import KernelError, E
from .registry import syscall

LDT_ENTRIES, LDT_ENTRY_SIZE = 8192, 8
GDT_ENTRIES = 16
USER_DESC = struct.Struct("<IIII")
SEGMENT_TI_MASK = 4


def _fill_ldt(base, limit, flags, oldmode):
    """fill_ldt, or None where write_ldt refuses the user_desc (EINVAL);
    bytes(8) to clear the entry."""
    seg_32bit, contents = flags & 1, (flags >> 1) & 3
    read_exec_only, limit_in_pages = (flags >> 3) & 1, (flags >> 4) & 1
    seg_not_present, useable, lm = (flags >> 5) & 1, (flags >> 6) & 1, (flags >> 7) & 1
    if contents == 3 and (oldmode or not seg_not_present):
        return None
    empty = (base == 0 and limit == 0 and contents == 0 and read_exec_only == 1
             and seg_32bit == 0 and limit_in_pages == 0 and seg_not_present == 1
             and useable == 0 and lm == 0)
    if (oldmode and not base and not limit) or empty:
        return bytes(8)
    access = 0x10 | 0x60 | ((read_exec_only ^ 1) << 1) | (contents << 2) | 1 \
        | ((seg_not_present ^ 1) << 7)
    avl = 0 if oldmode else useable
    gran = avl | (seg_32bit << 2) | (limit_in_pages << 3)     # never L
    return struct.pack("<HHBBBB", limit & 0xFFFF, base & 0xFFFF, (base >> 16) & 0xFF,
                       access, (gran << 4) | ((limit >> 16) & 0xF), (base >> 24) & 0xFF)


def _entries(t):
    return getattr(t.mm, "ldt_entries", 0)


def _read_ldt(t, ptr, count):
    n = _entries(t)
    if not n:
        return 0
    count = min(count, LDT_ENTRIES * LDT_ENTRY_SIZE)
    size = min(n * LDT_ENTRY_SIZE, count)
    data = t.thread.cpu.read_ldt(size)
    t.mm.write(ptr, data + bytes(count - size))
    return count


def _read_default_ldt(t, ptr, count):
    count = min(count, 128)     # what a 64-bit kernel clears
    t.mm.write(ptr, bytes(count))
    return count


def _write_ldt(t, ptr, count, oldmode):
    if count != USER_DESC.size:
        raise KernelError(E.EINVAL)
    entry, base, limit, flags = USER_DESC.unpack(t.mm.read(ptr, USER_DESC.size))
    if entry >= LDT_ENTRIES:
        raise KernelError(E.EINVAL)
    desc = _fill_ldt(base, limit, flags, oldmode)
    if desc is None:
        raise KernelError(E.EINVAL)
    cpu = t.thread.cpu
    cpu.write_ldt_entry(entry, desc)
    t.mm.ldt_entries = max(_entries(t), entry + 1)
    _refresh_ldt_segments(t)
    _flush_other_threads(t)
    return 0


def _flush_other_threads(t):
    """flush_ldt on the other CPUs: a thread interrupted in user mode goes
    back through IRET, which loads CS and SS again; one that no longer
    loads is a #GP there, SIGSEGV."""
    from unicorn import x86_const as X
    from ..abi.consts import SIGSEGV
    from . import sigframe
    for o in list(t.proc.threads.values()):
        ctx = getattr(o.thread, "ctx", None)
        if o is t or ctx is None or getattr(o.thread, "first", None) is not None:
            continue
        cs, ss = ctx.reg_read(X.UC_X86_REG_CS) & 0xFFFF, ctx.reg_read(X.UC_X86_REG_SS) & 0xFFFF
        cpu = t.thread.cpu
        bad = (ss & SEGMENT_TI_MASK and not loads(cpu, "ss", ss)) or \
            (cs & SEGMENT_TI_MASK and not _code_loads(cpu, cs))
        if bad:
            o.add_pending(SIGSEGV, sigframe.siginfo(SIGSEGV, sigframe.SI_KERNEL, True))
            if t.proc.cpu_sched is not None:
                t.proc.cpu_sched.signal_thread(o)


def _code_loads(cpu, sel):
    raw = _descriptor_of(cpu, sel)
    return raw is not None and raw[5] & 0x98 == 0x98 and (raw[5] >> 5) & 3 == 3


def _refresh_ldt_segments(t):
    """refresh_ldt_segments: DS and ES holding an LDT selector are loaded
    again, so their cached descriptors match the new table (a selector that
    no longer loads becomes 0, as loadsegment's fixup leaves it)."""
    regs = t.thread.read_regs()
    for seg in ("ds", "es"):
        sel = regs[seg]
        if sel & SEGMENT_TI_MASK:
            reload(t, seg, sel)


def _descriptor_of(cpu, sel):
    index = sel >> 3
    if sel & SEGMENT_TI_MASK:
        return cpu.read_ldt_entry(index) if index < LDT_ENTRIES else None
    return cpu.read_gdt_entry(index) if index < GDT_ENTRIES else None


def ldt_entry(t, index):
    """The raw LDT descriptor at index; None past the table's entries."""
    if index >= _entries(t):
        return None
    return t.thread.cpu.read_ldt_entry(index)


def loads(cpu, seg, sel):
    """Whether user code (CPL 3) may load sel into seg: the CPU's checks
    for a data segment register, or for SS."""
    if sel < 4 and not sel & SEGMENT_TI_MASK:
        return seg != "ss"
    raw = _descriptor_of(cpu, sel)
    if raw is None:
        return False
    access = raw[5]
    code, dpl, rpl = access & 8, (access >> 5) & 3, sel & 3
    if not access & 0x10 or not access & 0x80:
        return False
    if seg == "ss":
        return not code and access & 2 and rpl == 3 and dpl == 3
    if code and not access & 2:
        return False
    return (code and access & 4) or dpl >= rpl


def reload(t, seg, sel):
    """loadsegment: seg loaded again, or 0 where that faults (its fixup)."""
    cpu = t.thread.cpu
    cpu.reload_segment(seg, sel if loads(cpu, seg, sel) else 0)


def refresh_tls_segments(t, sel):
    """do_set_thread_area on a 64-bit kernel: DS, ES, FS and GS holding the
    modified GDT selector are loaded again (0 if it no longer loads)."""
    if getattr(t.thread, "first", None) is not None:
        return          # a thread not yet started: its registers go in later
    regs = t.thread.read_regs()
    for seg in ("ds", "es", "fs", "gs"):
        if regs[seg] == sel:
            reload(t, seg, sel)


@syscall("modify_ldt", "int ptr size")
def sys_modify_ldt(t, func, ptr, count):
    try:
        if func == 0:
            return _read_ldt(t, ptr, count)
        if func in (1, 0x11):
            return _write_ldt(t, ptr, count, func == 1)
        if func == 2:
            return _read_default_ldt(t, ptr, count)
        raise KernelError(E.ENOSYS)
    except KernelError as e:
        if not t.is64:
            raise
        # The 64-bit call returns (unsigned int)ret: an error is a large
        # positive number there, which libc's syscall() does not turn into
        # errno.
        return -e.errno & 0xFFFFFFFF


def load_segments(thread, loads):
    """CS, SS, DS, ES loaded with their descriptors (from the GDT or the
    LDT), as IRET or loadsegment loads them: {name: selector}."""
    from ..cpu import segments
    from unicorn import x86_const as X
    cpu = thread.cpu
    table = {}
    for name, sel in loads.items():
        index = sel >> 3
        if not sel & 0xFFFC:
            table[name] = (sel, None)
        elif sel & SEGMENT_TI_MASK:
            table[name] = (sel, cpu.read_ldt_entry(index) if index < LDT_ENTRIES else bytes(8))
        else:
            table[name] = (sel, thread.read_gdt(index) if index < GDT_ENTRIES else bytes(8))
    if not segments.load(cpu.uc, table):
        regs = {"cs": X.UC_X86_REG_CS, "ss": X.UC_X86_REG_SS, "ds": X.UC_X86_REG_DS,
                "es": X.UC_X86_REG_ES}
        cpu.reg_write_batch([(regs[n], sel) for n, sel in loads.items()])
