"""The trap layer: the only module that imports Unicorn.

One Unicorn x86-64 machine models a 64-bit Linux kernel's view of the CPU:
a GDT with Linux's selectors, a ring-0 boot stub that IRETs into ring 3
(64-bit or compat mode), and hooks that turn every way user code leaves
user mode (INT n, SYSCALL, SYSENTER, CPUID, exceptions, invalid opcodes,
port I/O, bad memory accesses) into calls on a `gate` object supplied by
the entry layer.
"""
import bisect
import ctypes
import struct

from unicorn import Uc, UcError, UC_ARCH_X86, UC_MODE_64
from unicorn import unicorn_const as UC
from unicorn import x86_const as X
from unicorn.unicorn_py3.unicorn import uclib as _lib

from ..kernel.tables.unistd import NR_I386, NR_X86_64

# The gate hooks and their register traffic are the hot path of every system
# call; the Python binding's wrappers cost several times the C call they
# wrap, so these go to libunicorn directly through ctypes.
_HOOK_INSN_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
_HOOK_CPUID_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
_HOOK_INTR_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p)


class _TlbEntry(ctypes.Structure):
    _fields_ = [("paddr", ctypes.c_uint64), ("perms", ctypes.c_uint32)]


_HOOK_TLB_FILL_CB = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int,
                                     ctypes.POINTER(_TlbEntry), ctypes.c_void_p)
_uc_hook_add = _lib.uc_hook_add
_U32 = ctypes.c_uint32.from_address
_NO_REGION = (1, 0, 0)
_uc_reg_read_batch = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                      ctypes.c_void_p, ctypes.c_int)(("uc_reg_read_batch", _lib))
_uc_mem_read = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_void_p,
                                ctypes.c_size_t)(("uc_mem_read", _lib))
_uc_mem_write = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_char_p,
                                 ctypes.c_size_t)(("uc_mem_write", _lib))
_uc_reg_write_batch = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                       ctypes.c_void_p, ctypes.c_int)(("uc_reg_write_batch", _lib))

# Linux's GDT layout (arch/x86/include/asm/segment.h, 64-bit kernel).
KERNEL_CS, KERNEL_DS = 0x10, 0x18
USER32_CS, USER_DS, USER_CS = 0x23, 0x2B, 0x33
GDT_ENTRY_TLS_MIN = 12
GDT_ENTRY_TLS_ENTRIES = 3
# The per-CPU segment whose limit encodes the CPU and node numbers, for LSL
# (the vDSO's getcpu; user code may load it too). This machine is CPU 0 of
# node 0. It is the last entry: selectors past it are #GP, as on Linux.
GDT_ENTRY_CPUNODE = 15
GDT_ENTRIES = 16

# Unicorn keeps 52 bits of a linear address and has no paging, so no
# canonical check either: an address whose bits 47-51 are all set was a
# kernel-half canonical address; other values of those bits were
# non-canonical, a #GP on x86-64.
ADDR_BITS = 52
KERNEL_HALF_TAG = ((1 << ADDR_BITS) - 1) & ~((1 << 47) - 1)
# Kernel-only memory: the GDT, the boot stub and the boot stack, at 2^47,
# where no canonical address lands (user ones are below, kernel-half ones
# truncate to KERNEL_HALF_TAG and above); only a non-canonical user address
# reaches it, and that is a #GP. The page below, the last one under 2^47,
# stays unmapped: Linux never gives it to user space either.
KBASE = 1 << 47
GDT_ADDR = KBASE
STUB_ADDR = KBASE + 0x400
KSTACK_TOP = KBASE + 0x1000
KSIZE = 0x1000
# The LDT (modify_ldt): 8192 descriptors, kernel-only like the GDT; LDTR
# always points at it with the full limit (an entry never written is zero,
# which a segment load refuses as Linux's absent LDT does: #GP(selector)).
LDT_ADDR = KBASE + 0x10000
LDT_SIZE = 0x10000
KEND = LDT_ADDR + LDT_SIZE
# emu_start needs an end address; user code can never reach this one.
NEVER = KBASE + 0xFFE
VSYSCALL_PAGE = 0xFFFFFFFFFF600000
# Where the TLB sends an access its page does not allow (see _on_tlb_fill):
# physical pages no mapping uses (no user address is this high).
TRAP_BASE = 0x9 << 48
TRAP_PAGES = 1024
MSR_EFER, EFER_SCE = 0xC0000080, 1
# Exceptions that QEMU's double-fault logic counts (contributory ones and
# #PF), whose "exception in flight" state must be cleared after each.
_CONTRIBUTORY = frozenset((0, 8, 10, 11, 12, 13, 14))

PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4

# Register names the entry layer uses; values are Unicorn's ids.
REG = {n.lower(): getattr(X, "UC_X86_REG_" + n) for n in (
    "RAX RBX RCX RDX RSI RDI RBP RSP R8 R9 R10 R11 R12 R13 R14 R15 "
    "RIP EFLAGS CS SS DS ES FS GS FS_BASE GS_BASE").split()}

# What a debugger sees beyond REG (gdb's names for the x87 registers).
_DEBUG_REG = dict(
    [(f"st{i}", getattr(X, f"UC_X86_REG_FP{i}")) for i in range(8)]
    + [(f"xmm{i}", getattr(X, f"UC_X86_REG_XMM{i}")) for i in range(16)]
    + [("mxcsr", X.UC_X86_REG_MXCSR), ("fctrl", X.UC_X86_REG_FPCW), ("fstat", X.UC_X86_REG_FPSW),
       ("ftag", X.UC_X86_REG_FPTAG), ("fiseg", X.UC_X86_REG_FCS), ("fioff", X.UC_X86_REG_FIP),
       ("foseg", X.UC_X86_REG_FDS), ("fooff", X.UC_X86_REG_FDP), ("fop", X.UC_X86_REG_FOP)])

# What an instruction the CPU must not finish may have changed by the time
# Unicorn stops (the rest of its translation block runs): put back at stop.
_REWIND_REGS = ("rax rbx rcx rdx rsi rdi rbp rsp r8 r9 r10 r11 r12 r13 r14 r15 "
                "rip eflags").split()

_MEM_TO_PROT = {UC.UC_MEM_READ: UC.UC_PROT_READ, UC.UC_MEM_WRITE: UC.UC_PROT_WRITE,
                UC.UC_MEM_FETCH: UC.UC_PROT_EXEC}

_UC_ERR_TO_KIND = {
    UC.UC_ERR_READ_UNMAPPED: "read", UC.UC_ERR_WRITE_UNMAPPED: "write",
    UC.UC_ERR_FETCH_UNMAPPED: "exec", UC.UC_ERR_READ_PROT: "read",
    UC.UC_ERR_WRITE_PROT: "write", UC.UC_ERR_FETCH_PROT: "exec",
}


def _descriptor(base, limit, access, flags):
    return struct.pack(
        "<HHBBBB", limit & 0xFFFF, base & 0xFFFF, (base >> 16) & 0xFF,
        access, ((flags & 0xF) << 4) | ((limit >> 16) & 0xF), (base >> 24) & 0xFF)


def _boot_gdt():
    gdt = bytearray(8 * 32)
    gdt[KERNEL_CS:KERNEL_CS + 8] = _descriptor(0, 0xFFFFF, 0x9B, 0xA)
    gdt[KERNEL_DS:KERNEL_DS + 8] = _descriptor(0, 0xFFFFF, 0x93, 0xC)
    gdt[USER32_CS & ~3:(USER32_CS & ~3) + 8] = _descriptor(0, 0xFFFFF, 0xFB, 0xC)
    gdt[USER_DS & ~3:(USER_DS & ~3) + 8] = _descriptor(0, 0xFFFFF, 0xF3, 0xC)
    gdt[USER_CS & ~3:(USER_CS & ~3) + 8] = _descriptor(0, 0xFFFFF, 0xFB, 0xA)
    # Read-only expand-down data, DPL 3, 32-bit; limit = (node << 12) | cpu.
    cpunode = 8 * GDT_ENTRY_CPUNODE
    gdt[cpunode:cpunode + 8] = _descriptor(0, 0, 0xF5, 0x4)
    return bytes(gdt)


def _boot_stub(entry, sp, cs):
    """Ring-0 code that enters user mode the way Linux's start_thread does."""
    return b"".join([
        b"\x66\xb8" + struct.pack("<H", KERNEL_DS), b"\x8e\xd0",   # mov ss
        b"\x66\xb8" + struct.pack("<H", USER_DS), b"\x8e\xd8\x8e\xc0",  # ds, es
        b"\x6a" + bytes([USER_DS]),                                 # push ss
        b"\x48\xb8" + struct.pack("<Q", sp), b"\x50",               # push rsp
        b"\x68\x02\x02\x00\x00",                                    # push rflags
        b"\x6a" + bytes([cs]),                                      # push cs
        b"\x48\xb8" + struct.pack("<Q", entry), b"\x50",            # push rip
        b"\x48\xcf",                                                # iretq
    ])


_BOOT_STUB_INSNS = 13


# Preemption from another host thread must not use uc_emu_stop: Unicorn
# 2.1.4 then resumes at the start of the block it was running, whose stores
# run again (a `lock xadd` loop counts twice). Instead that thread sets a
# flag, and a block hook written in machine code (no Python per block)
# stops the CPU from inside, which is exact:
#   mov rax,[rcx]; test rax,rax; jnz stop; ret
#   stop: mov qword [rcx],0; mov rax,[rcx+8]; jmp rax  (uc_emu_stop(uc))
_PREEMPT_STUB = bytes.fromhex("488b01" "4885c0" "7501" "c3" "48c70100000000" "488b4108" "ffe0")
_STUB_PAGE = []


# The system calls after which a process may be stopped from another thread
# and go on (a handler to run, a timer's signal, a tracer's stop) make its
# stops exact (Engine.exact_stops); a sigaction only when it sets an action
# (a query does not). Until then a stop from outside either kills the
# process or waits for its next system call (Engine.stop_async).
def _numbers(table, names):
    return frozenset(table[n] for n in names if n in table)


_SURVIVED_STOPS = {
    "x86_64": _numbers(NR_X86_64, ("rt_sigaction", "alarm", "setitimer", "ptrace",
                                   "timer_create", "timer_settime")),
    "i386": _numbers(NR_I386, ("signal", "sigaction", "rt_sigaction", "alarm", "setitimer",
                               "ptrace", "timer_create", "timer_settime", "timer_settime64")),
}
# Either ABI's: the one set test a system call pays before _after_call.
_SURVIVED_ANY = _SURVIVED_STOPS["x86_64"] | _SURVIVED_STOPS["i386"]

# rt_sigaction (both ABIs), sigaction and signal (i386): args[1] is the action.
_SIGACTIONS = _numbers(NR_X86_64, ("rt_sigaction",)) | _numbers(
    NR_I386, ("rt_sigaction", "sigaction", "signal"))


class PreemptFlag(ctypes.Structure):
    _fields_ = [("flag", ctypes.c_int64), ("stop", ctypes.c_void_p)]


def _preempt_stub():
    if not _STUB_PAGE:
        import mmap
        page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        page.write(_PREEMPT_STUB)
        _STUB_PAGE.append(page)
        _STUB_PAGE.append(ctypes.addressof(ctypes.c_char.from_buffer(page)))
    return _STUB_PAGE[1]


class RegBatch:
    """A fixed list of registers read or written in one C call. The values
    go through a memoryview of the C array: half the cost of slicing the
    ctypes array itself, on every system call."""

    def __init__(self, uch, ids):
        n = len(ids)
        self._ids = (ctypes.c_int * n)(*ids)
        self._vals = (ctypes.c_uint64 * n)()
        self._ptrs = (ctypes.c_void_p * n)(*[ctypes.addressof(self._vals) + 8 * i for i in range(n)])
        self._args = (uch, ctypes.addressof(self._ids), ctypes.addressof(self._ptrs), n)
        self._view = memoryview(self._vals).cast("B").cast("Q")
        self._bytes = memoryview(self._vals).cast("B")
        self._pack = struct.Struct(f"<{n}Q").pack_into

    def read(self):
        _uc_reg_read_batch(*self._args)
        return self._view.tolist()

    def write(self, values):
        self._pack(self._bytes, 0, *values)
        _uc_reg_write_batch(*self._args)


class GuestFault(Exception):
    """User code faulted: kind is read, write or exec (a page fault at addr;
    mapped tells a protection fault from a missing page), or ill (an invalid
    opcode at addr)."""

    def __init__(self, kind, addr, mapped):
        super().__init__(kind, addr)
        self.kind, self.addr, self.mapped = kind, addr, mapped


class Protections:
    """The CPU's view of which pages are mapped with which rights, kept in
    step with every map, unmap and protect: the TLB-fill hook answers from
    it (see Engine.__init__)."""

    def __init__(self):
        self.starts, self.regions = [], []      # [start, end, uc perms], sorted, disjoint

    def set(self, start, end, perms):
        """[start, end) now has perms (None: unmapped)."""
        starts, regions = self.starts, self.regions
        i = max(bisect.bisect_right(starts, start) - 1, 0)
        new = []
        j = i
        while j < len(regions) and regions[j][0] < end:
            a, b, p = regions[j]
            if b > start:
                if a < start:
                    new.append([a, start, p])
                if b > end:
                    new.append([end, b, p])
            else:
                new.append(regions[j])
            j += 1
        if perms is not None:
            new.append([start, end, perms])
        new.sort()
        regions[i:j] = new
        starts[i:j] = [r[0] for r in new]

    def at(self, addr):
        """(perms, start, end) of the region holding addr, or None."""
        i = bisect.bisect_right(self.starts, addr) - 1
        if i >= 0:
            r = self.regions[i]
            if addr < r[1]:
                return r
        return None


class Engine:
    def __init__(self, cpuid):
        self.uc = uc = Uc(UC_ARCH_X86, UC_MODE_64)
        # Guest memory on Unicorn's fast path. The CPU has no page tables
        # here (so the virtual TLB loses nothing), and the fill hook gives
        # each TLB entry the page's own rights: with the default fill an
        # entry holds only the right of the access that filled it, and a
        # page both loaded and stored thrashes. No memory hook may cover
        # user memory: any UC_HOOK_MEM_* over a page keeps every store to it
        # on the slow path (cputlb.c notdirty_write never marks the entry
        # dirty), so faults are seen by the fill hook instead.
        uc.ctl_set_tlb_mode(UC.UC_TLB_VIRTUAL)
        self.prot = Protections()
        self._host = Protections()     # regions of host memory: [start, end, host - guest]
        self._u32_seen = _NO_REGION    # see user_u32
        self._traps, self._trap_next = {}, 0     # trap page -> (user page, mapped, watched)
        self._watch, self._watch_trap, self.watch_hit = {}, None, None   # see watch_pages
        self._cpuid = cpuid
        self.gate = None
        self._last_bad = None
        self._map(KBASE, KSIZE, UC.UC_PROT_ALL)
        uc.mem_write(GDT_ADDR, _boot_gdt())
        uc.reg_write(X.UC_X86_REG_GDTR, (0, GDT_ADDR, 8 * GDT_ENTRIES - 1, 0))
        self._map(LDT_ADDR, LDT_SIZE, UC.UC_PROT_NONE)
        uc.reg_write(X.UC_X86_REG_LDTR, (0, LDT_ADDR, LDT_SIZE - 1, 0x82 << 8))
        # Linux sets EFER.SCE; without it Unicorn makes a user-mode SYSRET #UD
        # (SIGILL) instead of the #GP (SIGSEGV) it is on Linux.
        uc.msr_write(MSR_EFER, uc.msr_read(MSR_EFER) | EFER_SCE)
        self._pending_error = None
        self.async_stopped = False     # a stop was requested from another thread
        self.async_stops = 0           # how many were ever requested (a gdb step's witness)
        self._exception_in_flight = False
        self._rewind = None
        self._skip_step_at = None
        self._count = 0              # see step_next
        # Threaded: a system call stops the CPU and is dispatched after
        # emu_start returns, so its handler may block (and other threads
        # use the engine) without emu_start on its stack.
        self.defer = False
        self.deferred = None
        self._install_preempt()
        self._raw_hooks = [
            self._raw_hook(UC.UC_HOOK_INTR, _HOOK_INTR_CB(self._on_intr)),
            self._raw_hook(UC.UC_HOOK_INSN, _HOOK_INSN_CB(self._on_syscall), X.UC_X86_INS_SYSCALL),
            self._raw_hook(UC.UC_HOOK_INSN, _HOOK_INSN_CB(self._on_sysenter),
                           X.UC_X86_INS_SYSENTER),
        ]
        self._raw_hooks.append(self._raw_hook(UC.UC_HOOK_INSN, _HOOK_CPUID_CB(self._on_cpuid),
                                              X.UC_X86_INS_CPUID))
        uc.hook_add(UC.UC_HOOK_INSN_INVALID, self._on_invalid)
        self._raw_hooks.append(self._raw_hook(UC.UC_HOOK_TLB_FILL,
                                              _HOOK_TLB_FILL_CB(self._on_tlb_fill)))
        uc.hook_add(UC.UC_HOOK_MEM_INVALID, self._on_bad_mem, None, KBASE, KEND - 1)
        uc.hook_add(UC.UC_HOOK_MEM_UNMAPPED, self._on_trap, None, TRAP_BASE,
                    TRAP_BASE + (TRAP_PAGES << 12) - 1)
        # Unicorn lets user code run IN and OUT (it skips the IOPL and TSS
        # bitmap check and calls these hooks instead); on Linux they are #GP.
        uc.hook_add(UC.UC_HOOK_INSN, self._on_in, None, 1, 0, X.UC_X86_INS_IN)
        uc.hook_add(UC.UC_HOOK_INSN, self._on_out, None, 1, 0, X.UC_X86_INS_OUT)
        self._all_regs = self.batch(_REWIND_REGS)
        self._cpuid_in = self.batch(["rax", "rcx", "cs"])
        self._cpuid_out = self.batch(["rax", "rbx", "rcx", "rdx"])
        self._rip = self.batch(["rip"])
        self.reg_read = uc.reg_read
        self.reg_write = uc.reg_write
        self.reg_write_batch = uc.reg_write_batch
        self._uch = uc._uch
        self._u32 = ctypes.c_uint32()
        self._u32_addr = ctypes.addressof(self._u32)

    def _raw_hook(self, htype, cb, insn=None):
        handle = ctypes.c_size_t()
        extra = () if insn is None else (ctypes.c_int(insn),)
        err = _uc_hook_add(self.uc._uch, ctypes.byref(handle), ctypes.c_int(htype),
                           ctypes.cast(cb, ctypes.c_void_p), None, ctypes.c_uint64(1),
                           ctypes.c_uint64(0), *extra)
        if err:
            raise UcError(err)
        return cb, handle

    def hook_code_at(self, addr, fn):
        """Call fn() whenever user code is about to execute addr (tracing
        only: nothing is hooked otherwise)."""
        h = self.uc.hook_add(UC.UC_HOOK_CODE, lambda uc, a, size, _: fn(), None, addr, addr)
        # Code already translated would not see a hook added now.
        self.uc.ctl_remove_cache(addr, addr + 1)
        return h

    def batch(self, names):
        """A RegBatch for the named registers (see REG)."""
        return RegBatch(self.uc._uch, [REG[n] for n in names])

    # --- memory --------------------------------------------------------
    # Callers (kernel.mm) have checked the range against the VMA list; an
    # error here means the two disagree, which is a kernel bug.
    def mem_read(self, addr, n):
        buf = ctypes.create_string_buffer(n)
        err = _uc_mem_read(self._uch, addr, buf, n)
        if err:
            raise UcError(err)
        return buf.raw

    def mem_write(self, addr, data):
        err = _uc_mem_write(self._uch, addr, data, len(data))
        if err:
            raise UcError(err)

    def read_u32(self, addr):
        # Most guest memory is host memory (map_ptr): read it in place, as
        # the CPU would, without a call into Unicorn (the i386 fast system
        # call reads its sixth argument from the user stack this way).
        r = self._host.at(addr)
        if r is not None and addr + 4 <= r[1]:
            return _U32(addr + r[2]).value
        err = _uc_mem_read(self._uch, addr, self._u32_addr, 4)
        if err:
            raise UcError(err)
        return self._u32.value

    def user_u32(self, addr):
        """The 32-bit word at addr as a user-mode read would find it (host
        memory the CPU maps readable), or None when the kernel's own
        checked read must answer (unmapped, not readable, not host memory,
        crossing a region's end): a system call's argument from the user
        stack, without a call into Unicorn. The last region found is kept
        (the stack, call after call) until a map, unmap or protect."""
        lo, hi, delta = self._u32_seen
        if lo <= addr and addr + 4 <= hi:
            return _U32(addr + delta).value
        r = self._host.at(addr)
        if r is not None and addr + 4 <= r[1]:
            p = self.prot.at(addr)
            if p is not None and p[2] & UC.UC_PROT_READ and addr + 4 <= p[1]:
                self._u32_seen = (max(r[0], p[0]), min(r[1], p[1]), r[2])
                return _U32(addr + r[2]).value
        return None

    @staticmethod
    def _uc_prot(prot):
        return ((UC.UC_PROT_READ if prot & PROT_READ else 0)
                | (UC.UC_PROT_WRITE if prot & PROT_WRITE else 0)
                | (UC.UC_PROT_EXEC if prot & PROT_EXEC else 0))

    def _map(self, addr, size, perms):
        self.uc.mem_map(addr, size, perms)
        self.prot.set(addr, addr + size, perms)

    def map_ptr(self, addr, size, prot, ptr):
        """Map host memory at ptr (shared mappings)."""
        perms = self._uc_prot(prot)
        self.uc.mem_map_ptr(addr, size, perms, ptr)
        self.prot.set(addr, addr + size, perms)
        # ptr - addr is the same for any part of the region, so it survives
        # the splits of a later partial unmap.
        self._host.set(addr, addr + size, ptr - addr)
        self._u32_seen = _NO_REGION

    def unmap(self, addr, size):
        self.uc.mem_unmap(addr, size)
        self.prot.set(addr, addr + size, None)
        self._host.set(addr, addr + size, None)
        self._u32_seen = _NO_REGION

    def _protect(self, addr, size, perms):
        self.uc.mem_protect(addr, size, perms)
        self.prot.set(addr, addr + size, perms)
        self._u32_seen = _NO_REGION
        # Unicorn flushes the TLB when a region is split, not when only its
        # rights change; entries filled with the old rights must go.
        self.uc.ctl(UC.UC_CTL_TLB_FLUSH, UC.UC_CTL_IO_WRITE)

    def protect(self, addr, size, prot):
        self._protect(addr, size, self._uc_prot(prot))

    # --- FPU/SSE state for signal frames ------------------------------
    def read_fpu(self, nxmm):
        uc = self.uc
        return {"fpcw": uc.reg_read(X.UC_X86_REG_FPCW), "fpsw": uc.reg_read(X.UC_X86_REG_FPSW),
                "mxcsr": uc.reg_read(X.UC_X86_REG_MXCSR),
                "xmm": [uc.reg_read(X.UC_X86_REG_XMM0 + i) for i in range(nxmm)]}

    def write_fpu(self, fpu):
        uc = self.uc
        uc.reg_write(X.UC_X86_REG_FPCW, fpu["fpcw"])
        uc.reg_write(X.UC_X86_REG_FPSW, fpu["fpsw"])
        uc.reg_write(X.UC_X86_REG_MXCSR, fpu["mxcsr"])
        for i, v in enumerate(fpu["xmm"]):
            uc.reg_write(X.UC_X86_REG_XMM0 + i, v)

    # --- descriptors ---------------------------------------------------
    def write_gdt_entry(self, index, raw8):
        raw8 = bytearray(raw8)
        if raw8[5] & 0x10:
            # Code and data descriptors are written with their accessed bit
            # set, as Linux's fill_ldt does, so that loading one never makes
            # the CPU write to the GDT (user code may only read it).
            raw8[5] |= 1
        raw8 = bytes(raw8)
        # A write to the GDT's page costs a translation-cache check: only
        # when the entry changes (thread switches rewrite the TLS entries).
        if self.mem_read(GDT_ADDR + 8 * index, 8) != raw8:
            self.mem_write(GDT_ADDR + 8 * index, raw8)

    def read_gdt_entry(self, index):
        return self.mem_read(GDT_ADDR + 8 * index, 8)

    def write_ldt_entry(self, index, raw8):
        self.mem_write(LDT_ADDR + 8 * index, raw8)

    def read_ldt_entry(self, index):
        return self.mem_read(LDT_ADDR + 8 * index, 8)

    def read_ldt(self, size):
        return self.mem_read(LDT_ADDR, size)

    def reload_segment(self, seg, sel):
        """Load seg again from its table; a selector that no longer loads
        leaves 0 (Linux's loadsegment fixup)."""
        try:
            self.uc.reg_write(REG[seg], sel)
        except UcError:
            self.uc.reg_write(REG[seg], 0)

    # --- running -------------------------------------------------------
    def boot(self, entry, sp, compat):
        """Enter user mode at entry with the given stack, as execve does."""
        self._protect(KBASE, KSIZE, UC.UC_PROT_ALL)
        self.uc.mem_write(STUB_ADDR, _boot_stub(entry, sp, USER32_CS if compat else USER_CS))
        user_cs = USER32_CS if compat else USER_CS
        stopped = False
        while True:
            self.uc.reg_write(X.UC_X86_REG_RSP, KSTACK_TOP)
            try:
                self.uc.emu_start(STUB_ADDR, 0, 0, _BOOT_STUB_INSNS)
            except UcError as e:
                # The stub has entered user mode; its engine looked ahead at an
                # entry point it cannot fetch. That fault is the program's first
                # instruction's, taken when run() starts there.
                if e.errno not in (UC.UC_ERR_FETCH_UNMAPPED, UC.UC_ERR_FETCH_PROT):
                    raise
            if self.uc.reg_read(X.UC_X86_REG_CS) == user_cs:
                break
            # A stop from another host thread (a signal arriving during
            # execve) cut the stub short, still on the kernel stack: run it
            # again, and let that stop land on the program's first block.
            stopped = True
        if stopped:
            self.stop_async()
        # Without paging there is no user/supervisor bit: the kernel page is
        # kept from user code by having no access rights at all. The CPU's
        # own descriptor reads when user code loads a segment are let
        # through by _on_bad_mem.
        self._protect(KBASE, KSIZE, UC.UC_PROT_NONE)
        self.uc.reg_write_batch([(REG[r], 0) for r in (
            "rax rbx rcx rdx rsi rdi rbp r8 r9 r10 r11 r12 r13 r14 r15".split())])
        # Linux starts a program with the FPU in its init state: x87 extended
        # precision with all exceptions masked, SSE exceptions masked. Unicorn
        # resets both control words to 0 (single precision, all unmasked),
        # which changes long double results.
        self.uc.reg_write_batch([(X.UC_X86_REG_FPCW, 0x37F), (X.UC_X86_REG_MXCSR, 0x1F80),
                                 (X.UC_X86_REG_FPTAG, 0xFFFF)])

    def compat_mode(self):
        return self.uc.reg_read(X.UC_X86_REG_CS) == USER32_CS

    # --- threads: one engine, a context per thread -----------------------
    def context_save(self):
        return self.uc.context_save()

    def context_update(self, ctx):
        self.uc.context_update(ctx)

    def context_restore(self, ctx):
        self.uc.context_restore(ctx)

    def take_skip_step(self):
        skip, self._skip_step_at = self._skip_step_at, None
        return skip

    def set_skip_step(self, ip):
        self._skip_step_at = ip

    def dispatch_deferred(self):
        """Run the system call a hook deferred (see defer), as the hook
        would have: SYSCALL and SYSENTER hooks see RIP on the instruction
        and Unicorn adds its length after them."""
        kind, self.deferred = self.deferred, None
        if kind == "intr":
            self.gate.interrupt(0x80)
            return
        rip = self._rip
        rip.write((rip.read()[0] - 2,))
        if kind == "syscall":
            self.gate.syscall_insn()
        else:
            self.gate.sysenter_insn()
        rip.write((rip.read()[0] + 2,))

    def rip(self):
        return self._rip.read()[0]

    def threaded(self):
        """The process has threads: system calls are deferred (see defer),
        and other threads' stops (slices) must be exact."""
        self.defer = True
        self.exact_stops()
        return self.preempt

    def _install_preempt(self):
        """The flag another host thread sets to stop user code exactly. The
        block hook that reads it is added by exact_stops, only once a stop
        may come that the process survives: it runs at the start of every
        block and costs compute-bound code about a fifth of its speed."""
        self.preempt = PreemptFlag(0, ctypes.cast(_lib.uc_emu_stop, ctypes.c_void_p).value)
        self._preempt_hook = None
        self.want_exact = False     # asked from another thread: added at the next safe point

    def exact_stops(self):
        """From now on a stop asked from another thread is exact: a block
        hook in machine code (no Python per block) stops the CPU at the
        start of a block when the flag is set. uc_emu_stop called from
        another thread instead lets the check after a memory access exit
        mid-instruction with the PC put back on it, so an instruction whose
        store already ran (add [mem], lock xadd) runs twice. Called on the
        CPU's own thread, between runs or inside a hook."""
        self.want_exact = False
        if self._preempt_hook is not None:
            return
        handle = ctypes.c_size_t()
        err = _uc_hook_add(self.uc._uch, ctypes.byref(handle), ctypes.c_int(UC.UC_HOOK_BLOCK),
                           ctypes.c_void_p(_preempt_stub()),
                           ctypes.c_void_p(ctypes.addressof(self.preempt)),
                           ctypes.c_uint64(1), ctypes.c_uint64(0))
        if err:
            raise UcError(err)
        self._preempt_hook = handle
        # Blocks translated before the hook existed would never call it.
        self.uc.ctl_flush_tb()

    @property
    def exact(self):
        return self._preempt_hook is not None

    def stop_async(self, how="exact"):
        """Stop user code from another host thread. how: "exact" (the
        process goes on afterwards), "now" (it will not: a fatal signal, so
        where the stop lands does not matter) or "none" (nothing to do in
        user code: a blocked or ignored signal). Without the block hook an
        exact stop cannot be had from here: the hook is asked for, added at
        the next system call (a safe point), and the caller's repeated
        request (the signal helper repeats it until the run loop takes
        its queue) is then exact."""
        self.async_stops += 1
        if self._preempt_hook is not None:
            self.preempt.flag = 1
        elif how == "now":
            self.uc.emu_stop()
        elif how == "exact":
            self.want_exact = True

    def _after_call(self):
        """After a system call in a process whose stops are not exact yet:
        from now on may a stop come that it survives (a handler, a timer, a
        stop requested)? Then add the block hook, while the CPU is in a
        hook (a safe point)."""
        regs = self.gate.current
        if self.want_exact or (regs is not None and regs.orig_ax in _SURVIVED_STOPS[regs.abi]
                               and not (regs.orig_ax in _SIGACTIONS and regs.args
                                        and not regs.args[1])):
            self.exact_stops()

    def run(self, pc, count=0):
        """Run user code from pc until a hook stops the CPU (or count
        instructions ran: a thread's slice); raise GuestFault when user code
        faults. (No emu_start timeout: stops from other threads are
        exact through _install_preempt.)"""
        self._last_bad = self._watch_trap = None
        if self.want_exact or (self._preempt_hook is None and self.gate is not None
                               and self.gate.machine.debug is not None):
            self.exact_stops()      # a debugger's interrupt must be exact too
        step, self._count = self._count, 0      # a gdb single step (see step_next)
        if step:
            count = min(count, step) if count else step
        try:
            self.uc.emu_start(pc, NEVER, 0, count)
            if self._pending_error is not None:
                err, self._pending_error = self._pending_error, None
                raise err
        except UcError as e:
            if self._watch_trap is not None:
                return self._watch_step(self.uc.reg_read(X.UC_X86_REG_RIP))
            if e.errno == UC.UC_ERR_INSN_INVALID:
                raise GuestFault("ill", self.uc.reg_read(X.UC_X86_REG_RIP), True) from None
            kind = _UC_ERR_TO_KIND.get(e.errno)
            if kind is None:
                raise
            addr, mapped = self._last_bad if self._last_bad else (0, False)
            tag = addr & KERNEL_HALF_TAG
            if tag == KERNEL_HALF_TAG:
                addr |= ((1 << 64) - 1) & ~((1 << ADDR_BITS) - 1)   # a kernel-half address
                if kind == "exec" and addr >> 12 == VSYSCALL_PAGE >> 12:
                    # A call into the legacy vsyscall page, which Linux
                    # emulates from its page-fault handler.
                    self.gate.vsyscall(addr)
                    return
            elif tag:
                # A non-canonical address is a #GP at the instruction, not a
                # page fault (no si_addr, trap 13).
                self.gate.exception(13, self.uc.reg_read(X.UC_X86_REG_RIP),
                                    "non-canonical address")
                return
            raise GuestFault(kind, addr, mapped) from None
        finally:
            if self._rewind is not None:
                vals, self._rewind = self._rewind, None
                self._all_regs.write(vals)
            if self._exception_in_flight:
                self._exception_in_flight = False
                self._clear_exception_in_flight()

    def _clear_exception_in_flight(self):
        """QEMU remembers the last contributory exception until it has
        delivered it through the IDT, to turn a second one into #DF and a
        third into a triple fault (which halts the CPU for good). Exceptions
        here go to hooks and are never delivered, so a program that survives
        two faults (a SIGSEGV handler that returns or longjmps) would hang:
        clear QEMU's record (env->old_exception) through a context image."""
        off = _env_offset("old_exception")
        if off is None:
            return
        ctx = self.uc.context_save()
        ctypes.memmove(ctypes.cast(ctx.context, ctypes.c_void_p).value + off,
                       b"\xff\xff\xff\xff", 4)
        self.uc.context_restore(ctx)

    def error_code(self):
        """The error code of the exception the CPU is taking (QEMU's
        env->error_code: a #GP's selector, say), 0 if it cannot be read."""
        off = _env_offset("error_code")
        if off is None:
            return 0
        ctx = self.uc.context_save()
        raw = ctypes.string_at(ctypes.cast(ctx.context, ctypes.c_void_p).value + off, 4)
        return int.from_bytes(raw, "little")

    def stop(self):
        self.uc.emu_stop()

    # --- for the gdb stub (sysgate.debug) -------------------------------
    def step_next(self):
        """The next run() executes exactly one user instruction (a SYSCALL,
        SYSENTER or INT 0x80 with its whole system call)."""
        self._count = 1
        # Unicorn counts instructions with a code hook that blocks translated
        # before it was added lack (seen: a call into the vDSO ran on).
        self.uc.ctl_flush_tb()
        # A stop asked while gdb held the guest (the signal helper repeats
        # its request until the run loop takes the signal) would end the
        # step before its instruction: the step runs first, the request is
        # repeated after it.
        self.preempt.flag = 0

    def unhook(self, handle):
        self.uc.hook_del(handle)

    def drop_code(self, addr, size):
        """Memory at [addr, addr+size) was written behind the CPU's back:
        its translations must not run again."""
        self.uc.ctl_remove_cache(addr, addr + max(size, 1))

    def watch_pages(self, pages, on_hit):
        """Watchpoints: pages maps each watched page to 'w' (stores) or 'rw'
        (loads too). An access of that kind to such a page is refused by the
        TLB fill, so the CPU stops on the instruction; that one instruction
        then runs alone with the watch lifted and a memory hook bounded to
        the watched pages, and on_hit([(is_write, addr, size)]) hears what it
        touched there. No hook covers any page between watch hits."""
        self._watch = {p: UC.UC_PROT_WRITE | (UC.UC_PROT_READ if k == "rw" else 0)
                       for p, k in pages.items()}
        self.watch_hit = on_hit
        self.uc.ctl(UC.UC_CTL_TLB_FLUSH, UC.UC_CTL_IO_WRITE)

    def _watch_step(self, pc):
        watched, self._watch = self._watch, {}
        self.uc.ctl(UC.UC_CTL_TLB_FLUSH, UC.UC_CTL_IO_WRITE)
        seen = []

        def note(uc, access, addr, size, value, _):
            seen.append((access == UC.UC_MEM_WRITE, addr, size))
        hooks = [self.uc.hook_add(UC.UC_HOOK_MEM_READ | UC.UC_HOOK_MEM_WRITE, note, None,
                                  page, page + 0xFFF) for page in watched]
        try:
            self._count = 1
            self.run(pc)
        finally:
            for h in hooks:
                self.uc.hook_del(h)
            self._watch = watched
            self.uc.ctl(UC.UC_CTL_TLB_FLUSH, UC.UC_CTL_IO_WRITE)
        if self.watch_hit is not None and seen:
            self.watch_hit(seen)

    def debug_reg(self, name, value=None):
        """Read (value None) or write any register a debugger shows: the
        names of REG, st0-st7 (10 bytes each), xmm0-15, mxcsr and the x87
        control registers by gdb's names."""
        rid = REG.get(name) or _DEBUG_REG[name]
        if name.startswith("st"):
            if value is None:
                mant, exp = self.uc.reg_read(rid)
                return mant.to_bytes(8, "little") + (exp & 0xFFFF).to_bytes(2, "little")
            value = (int.from_bytes(value[:8], "little"), int.from_bytes(value[8:10], "little"))
        if value is None:
            return self.uc.reg_read(rid)
        self.uc.reg_write(rid, value)

    def skip_single_step_at(self, ip):
        """The gate returns from SYSCALL or SYSENTER to ip with TF set: drop
        the single-step trap QEMU raises there before any instruction at ip
        has run (the next one, after it, is the real one)."""
        self._skip_step_at = ip

    # --- hooks: turn CPU events into gate calls ------------------------
    # Raw ctypes callbacks cannot let an exception escape (ctypes would print
    # and drop it): a kernel bug stops the CPU and is re-raised by run().
    def _on_intr(self, uch, intno, _):
        if self._rewind is not None:
            return          # stopping at an instruction that faulted (see _port_fault)
        if intno == 0x80 and self.defer:
            self.deferred = "intr"
            self.uc.emu_stop()
            return
        if self._skip_step_at is not None:
            skip, self._skip_step_at = self._skip_step_at, None
            if intno == 1 and self.uc.reg_read(X.UC_X86_REG_RIP) == skip:
                return      # see skip_single_step_at
        if intno in _CONTRIBUTORY:
            self._exception_in_flight = True
        try:
            self.gate.interrupt(intno)
            if self._preempt_hook is None and (self.want_exact or getattr(
                    self.gate.current, "orig_ax", None) in _SURVIVED_ANY):
                self._after_call()
        except BaseException as e:
            self._pending_error = e
            self.uc.emu_stop()

    def _on_syscall(self, uch, _):
        if self._rewind is not None:
            return
        if self.defer:
            self.deferred = "syscall"
            self.uc.emu_stop()
            return
        try:
            self.gate.syscall_insn()
            if self._preempt_hook is None and (self.want_exact or getattr(
                    self.gate.current, "orig_ax", None) in _SURVIVED_ANY):
                self._after_call()
        except BaseException as e:
            self._pending_error = e
            self.uc.emu_stop()

    def _on_sysenter(self, uch, _):
        if self._rewind is not None:
            return
        if self.defer:
            self.deferred = "sysenter"
            self.uc.emu_stop()
            return
        try:
            self.gate.sysenter_insn()
            if self._preempt_hook is None and (self.want_exact or getattr(
                    self.gate.current, "orig_ax", None) in _SURVIVED_ANY):
                self._after_call()
        except BaseException as e:
            self._pending_error = e
            self.uc.emu_stop()

    def _on_invalid(self, uc, _):
        """Unicorn's #UD; run() turns it into a GuestFault, except for three
        instructions that are no #UD on a real CPU under Linux."""
        rip = uc.reg_read(X.UC_X86_REG_RIP)
        try:
            insn = self.mem_read(rip, 2)
        except UcError:
            return False
        try:
            if insn == b"\xcd\x06":
                # INT 6: Unicorn raises the #UD itself; on Linux INT n to a
                # gate that is not DPL 3 is a #GP on the instruction.
                self.gate.exception(13, rip, "INT 0x6 from user mode", err=6 << 3 | 2)
                return True
            if insn[0] == 0xF1:
                # INT1 (ICEBP): a #DB trap, reported after the instruction.
                self.gate.exception(1, rip + 1, "INT1")
                return True
            if insn == b"\x0f\x33":
                # RDPMC: #GP while CR4.PCE is clear, as it is for a process
                # that has not mapped a perf event (QEMU tests the bit the
                # wrong way round and then calls the instruction unsupported).
                self.gate.exception(13, rip, "RDPMC")
                return True
        except BaseException as e:
            self._pending_error = e
            self.uc.emu_stop()
            return True
        return False

    def _on_tlb_fill(self, uch, addr, access, entry, _):
        """A TLB miss (addr is the page): the page's own rights. An access
        the page does not allow is sent to a trap page instead, where the
        access itself fails in _on_trap with its exact address."""
        want = _MEM_TO_PROT.get(access, 0)
        e = entry.contents
        if KBASE <= addr < KEND:
            # The kernel page is guarded by its own protection hook
            # (_on_bad_mem), which lets the CPU's descriptor reads through;
            # Unicorn also looks up the page emu_start's end address is on.
            e.paddr, e.perms = addr, want
            return True
        r = self.prot.at(addr)
        watched = False
        if r is not None and r[2] & want:
            w = self._watch.get(addr, 0) if self._watch else 0
            if not w & want:
                e.paddr, e.perms = addr, r[2] & ~w
                return True
            watched = True      # a debugger watches this page (see watch_pages)
        n = self._trap_next
        if n == TRAP_PAGES:
            # Every trap page is in use: entries still pointing at one must
            # not outlive its reuse.
            self.uc.ctl(UC.UC_CTL_TLB_FLUSH, UC.UC_CTL_IO_WRITE)
            n = 0
        self._trap_next = n + 1
        self._traps[n] = (addr, r is not None, watched)
        e.paddr, e.perms = TRAP_BASE + (n << 12), want
        return True

    def _on_trap(self, uc, access, paddr, size, value, _):
        page, mapped, watched = self._traps[(paddr - TRAP_BASE) >> 12]
        if watched:
            self._watch_trap = page | (paddr & 0xFFF)
        self._last_bad = (page | (paddr & 0xFFF), mapped)
        return False

    def _on_bad_mem(self, uc, access, addr, size, value, _):
        if KBASE <= addr < KEND:
            if (access == UC.UC_MEM_READ_PROT and size == 4 and not addr & 3
                    and (addr - GDT_ADDR < 8 * GDT_ENTRIES or addr >= LDT_ADDR)):
                # The CPU reading a descriptor for user code (a segment load,
                # far transfer, LAR, LSL). Unicorn then caches the page as
                # readable, so later reads through non-canonical aliases get
                # through; writes and fetches never do.
                return True
            self._last_bad = (addr, False)
            return False
        mapped = access in (UC.UC_MEM_READ_PROT, UC.UC_MEM_WRITE_PROT, UC.UC_MEM_FETCH_PROT)
        self._last_bad = (addr, mapped)
        return False

    # (port, size) -> whether the current thread may (ioperm, iopl 3):
    # set by kernel.ioport once a thread gains a port.
    port_allowed = None

    def _on_in(self, uc, port, size, _):
        allowed = self.port_allowed
        if allowed is not None and allowed(port, size):
            return (1 << (8 * size)) - 1        # no device: a floating bus
        self._port_fault()
        return 0

    def _on_out(self, uc, port, size, value, _):
        allowed = self.port_allowed
        if allowed is not None and allowed(port, size):
            return
        self._port_fault()

    def _port_fault(self):
        """IN/OUT from user mode (IOPL 0, no I/O bitmap): #GP. The hook
        cannot abort the instruction and Unicorn stops only at the end of
        its translation block, so the registers as they are here (RIP on
        the instruction) are put back when the CPU has stopped, and the
        gates ignore anything the rest of the block does."""
        if self._rewind is not None:
            return
        self._rewind = vals = self._all_regs.read()
        try:
            self.gate.exception(13, vals[_REWIND_REGS.index("rip")], "I/O port access")
        except BaseException as e:
            self._pending_error = e
            self.uc.emu_stop()

    def _on_cpuid(self, uch, _):
        """CPUID: the model's answer (a libc asks a dozen leaves at start)."""
        try:
            leaf, sub, cs = self._cpuid_in.read()
            self._cpuid_out.write(self._cpuid(leaf & 0xFFFFFFFF, sub & 0xFFFFFFFF,
                                              cs & 0xFFFF == USER32_CS))
        except BaseException as e:
            self._pending_error = e
            self.uc.emu_stop()
        return 1


def _scratch_exception(code):
    """Context images of a scratch CPU before and after user code `code`
    takes its first exception (the CPU stops in the interrupt hook)."""
    uc = Uc(UC_ARCH_X86, UC_MODE_64)
    uc.mem_map(KBASE, KSIZE, UC.UC_PROT_ALL)
    uc.mem_write(GDT_ADDR, _boot_gdt())
    uc.reg_write(X.UC_X86_REG_GDTR, (0, GDT_ADDR, 8 * GDT_ENTRIES - 1, 0))
    uc.mem_map(0x10000, 0x2000)
    uc.mem_write(0x10000, code)
    uc.mem_write(STUB_ADDR, _boot_stub(0x10000, 0x11800, USER_CS))
    uc.reg_write(X.UC_X86_REG_RSP, KSTACK_TOP)
    uc.emu_start(STUB_ADDR, 0, 0, _BOOT_STUB_INSNS)

    def image():
        ctx = uc.context_save()
        return ctypes.string_at(ctypes.cast(ctx.context, ctypes.c_void_p).value, ctx.size)
    before = image()
    uc.hook_add(UC.UC_HOOK_INTR, lambda u, intno, _: u.emu_stop())
    uc.emu_start(0x10000, 0x10000 + len(code))
    return before, image()


def _fields(pairs):
    """Offsets of the one 4-byte field of a context image that goes from
    each pair's first value to its second in every probe, or None."""
    found = None
    for (before, after), (old, new) in pairs:
        n = min(len(before), len(after)) - 3
        offs = {off for off in range(0, n, 4)
                if (old is None or before[off:off + 4] == (old & 0xFFFFFFFF).to_bytes(4, "little"))
                and after[off:off + 4] == new.to_bytes(4, "little")}
        found = offs if found is None else found & offs
    return found.pop() if found and len(found) == 1 else None


_ENV_OFFSETS = {}


def _env_offset(name):
    """Offset of a field of QEMU's CPU state in a Unicorn context image,
    found once by watching scratch CPUs take exceptions:
    old_exception goes from -1 to 13 on a #GP (HLT in ring 3);
    error_code is the selector of a bad segment load (0x43 gives 0x40,
    0x5b gives 0x58)."""
    if name not in _ENV_OFFSETS:
        if name == "old_exception":
            _ENV_OFFSETS[name] = _fields([(_scratch_exception(b"\xf4"), (-1, 13))])
        else:
            # mov $sel, %eax; mov %eax, %es
            load = lambda sel: b"\xb8" + struct.pack("<I", sel) + b"\x8e\xc0"
            _ENV_OFFSETS[name] = _fields([(_scratch_exception(load(0x43)), (None, 0x40)),
                                          (_scratch_exception(load(0x5b)), (None, 0x58))])
    return _ENV_OFFSETS[name]


_CPUID_UC = []


def native_cpuid_table(leaves):
    """CPUID answers of Unicorn's own CPU model, which ours starts from (one
    scratch CPU per host process, kept: making one costs about a
    millisecond, and a libc's start-up asks a dozen leaves)."""
    if not _CPUID_UC:
        uc = Uc(UC_ARCH_X86, UC_MODE_64)
        uc.mem_map(0x1000, 0x1000)
        uc.mem_write(0x1000, b"\x0f\xa2")
        _CPUID_UC.append(uc)
    uc = _CPUID_UC[0]
    out = {}
    for leaf, sub in leaves:
        uc.reg_write_batch([(X.UC_X86_REG_RAX, leaf), (X.UC_X86_REG_RCX, sub)])
        uc.emu_start(0x1000, 0x1002)
        out[leaf, sub] = tuple(uc.reg_read_batch([X.UC_X86_REG_RAX, X.UC_X86_REG_RBX,
                                                  X.UC_X86_REG_RCX, X.UC_X86_REG_RDX]))
    return out
