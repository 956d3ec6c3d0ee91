"""The program interpreter's translated code kept across execve.

Most of what a dynamic program's start costs under sysgate is Unicorn
translating its code, and most of that code is ld.so's: some 3,600 of the
4,400 blocks a forked shell's /bin/true translates. The shell's own ld.so
ran the same code, and Unicorn keys a translated block by the guest
address and the RAM block of its page. So when a process execs a program
whose interpreter is the file its current image runs (same inode, size and
times, and its code bytes in memory still the file's), the exec keeps the
CPU, puts the new interpreter where the old one was, and hands its code
segment the very region of the old one (Protections.adopt): its blocks are
not translated again. The rest of the old image is unmapped, but for its
code regions, which stay in Unicorn out of the guest's sight
(Protections.forget): unmapping them would discard their blocks one at a
time, some milliseconds for a shell's. The CPU's state is put back as new
(Engine.reuse_for_exec, Gate.reuse_for_exec).

This only changes where the new interpreter goes (a place ASLR could have
chosen) and what is translated; anything that could make the old blocks
differ from the new image's code, or that watches translation (a tracer's
code hooks, a debugger, threads' block hook, counted runs), gives a new CPU
as before (program.exec_image judges the machine's part and resets the CPU
and gate; this module the memory's)."""
import ctypes
import os

from .vma import PROT_EXEC, PROT_READ, PROT_WRITE


# SYSGATE_NO_KEEPINTERP=1: every exec takes a new CPU (for comparisons).
ENABLED = not os.environ.get("SYSGATE_NO_KEEPINTERP")


class Interp:
    """Where the current image's interpreter is: its whole span, and its
    code segment."""
    __slots__ = ("dev", "ino", "base", "end", "start", "stop", "offset", "ident")

    def __init__(self, dev, ino, base, end, start, stop, offset, ident):
        self.dev, self.ino, self.base, self.end = dev, ino, base, end
        self.start, self.stop, self.offset, self.ident = start, stop, offset, ident


class Kept:
    """The old interpreter's code segment, for the new image's to adopt
    (FileMappings._map_private_file)."""
    __slots__ = ("start", "end", "offset", "dev", "ino", "hold", "ptr", "base")

    def __init__(self, v, base):
        self.start, self.end, self.offset, self.dev, self.ino = v.start, v.end, v.offset, v.dev, \
            v.ino
        self.hold, self.ptr, self.base = v.hold, v.ptr, base

    def matches(self, start, size, prot, offset, dev, ino):
        return (start, start + size, offset, dev, ino) == (self.start, self.end, self.offset,
                                                           self.dev, self.ino) \
            and prot == PROT_READ | PROT_EXEC


def _ident(st):
    """What must not have changed for the bytes to be the same file's."""
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def find(mm, st):
    """Where the interpreter (the file exec opened, its stat st) is in mm
    after an exec: an Interp, or None if its code is not one mapping."""
    dev, ino = st.st_dev, st.st_ino
    mine = [v for v in mm.vmas if (v.dev, v.ino) == (dev, ino)]
    code = [v for v in mine if v.prot == PROT_READ | PROT_EXEC and v.backed]
    if len(code) != 1:
        return None
    c = code[0]
    # The file as it was opened, before its code was mapped: a write to it
    # since shows in the private mapping's unwritten pages (the bytes check
    # in set_aside would pass), not in the blocks translated from them.
    return Interp(dev, ino, min(v.start for v in mine), max(v.end for v in mine), c.start,
                  c.end, c.offset, _ident(st))


def set_aside(mm, rec, st, cpu, stack_low):
    """Before an exec's new image is built on the same CPU: a Kept for the
    interpreter's code (rec, an Interp of the old image mm) when the CPU
    and that code can serve the new image, whose interpreter exec opened
    with the stat st, the old image then gone from the guest's sight (its
    code regions forgotten by the CPU, the rest unmapped); else None,
    nothing changed. stack_low: where the new image's stack will start
    (the interpreter must stay below it)."""
    if not ENABLED or _ident(st) != rec.ident or cpu.exact or cpu._checks or cpu._watch \
            or rec.end > stack_low:
        return None
    v = mm.find(rec.start)
    if v is None or (v.start, v.end, v.offset, v.dev, v.ino) != (
            rec.start, rec.stop, rec.offset, rec.dev, rec.ino) \
            or v.prot != PROT_READ | PROT_EXEC or not v.backed or v.shared or v.file is None \
            or v.hold is None:
        return None
    size = v.end - v.start
    try:
        if _ident(os.fstat(v.file.host)) != rec.ident or \
                os.pread(v.file.host, size, v.offset) != ctypes.string_at(v.ptr, size):
            return None         # written since (mprotect, ptrace, /proc/PID/mem)
    except OSError:
        return None
    kept = Kept(v, rec.base)
    for w in list(mm.vmas):
        if w is v or (w.backed and w.file is not None and w.prot & PROT_EXEC
                      and not w.prot & PROT_WRITE and not w.shared and w.hold is not None):
            mm._carve(w.start, w.end)
            cpu.forget(w.start, w.end - w.start, w.hold)
    mm.unmap(0, mm.task_size)
    return kept
