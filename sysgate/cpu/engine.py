"""The trap layer: the only module that imports Unicorn.

One Unicorn x86-64 machine models a 64-bit Linux kernel's view of the CPU:
a GDT with Linux's selectors, a ring-0 boot stub that IRETs into ring 3
(64-bit or compat mode), and hooks that turn every way user code leaves
user mode (INT n, SYSCALL, SYSENTER, CPUID, exceptions, invalid opcodes,
port I/O, bad memory accesses) into calls on a `gate` object supplied by
the entry layer.
"""
import ctypes
import struct

from unicorn import Uc, UcError, UC_ARCH_X86, UC_MODE_64
from unicorn import unicorn_const as UC
from unicorn import x86_const as X
from unicorn.unicorn_py3.unicorn import uclib as _lib

# The gate hooks and their register traffic are the hot path of every system
# call; the Python binding's wrappers cost several times the C call they
# wrap, so these go to libunicorn directly through ctypes.
_HOOK_INSN_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
_HOOK_INTR_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p)
_uc_hook_add = _lib.uc_hook_add
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
# emu_start needs an end address; user code can never reach this one.
NEVER = KBASE + 0xFFE
VSYSCALL_PAGE = 0xFFFFFFFFFF600000
MSR_EFER, EFER_SCE = 0xC0000080, 1
# Exceptions that QEMU's double-fault logic counts (contributory ones and
# #PF), whose "exception in flight" state must be cleared after each.
_CONTRIBUTORY = frozenset((0, 8, 10, 11, 12, 13, 14))

PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4

# Register names the entry layer uses; values are Unicorn's ids.
REG = {n.lower(): getattr(X, "UC_X86_REG_" + n) for n in (
    "RAX RBX RCX RDX RSI RDI RBP RSP R8 R9 R10 R11 R12 R13 R14 R15 "
    "RIP EFLAGS CS SS DS ES FS GS FS_BASE GS_BASE").split()}

# What an instruction the CPU must not finish may have changed by the time
# Unicorn stops (the rest of its translation block runs): put back at stop.
_REWIND_REGS = ("rax rbx rcx rdx rsi rdi rbp rsp r8 r9 r10 r11 r12 r13 r14 r15 "
                "rip eflags").split()

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


class RegBatch:
    """A fixed list of registers read or written in one C call."""

    def __init__(self, uch, ids):
        n = len(ids)
        self._ids = (ctypes.c_int * n)(*ids)
        self._vals = (ctypes.c_uint64 * n)()
        self._ptrs = (ctypes.c_void_p * n)(*[ctypes.addressof(self._vals) + 8 * i for i in range(n)])
        self._args = (uch, ctypes.addressof(self._ids), ctypes.addressof(self._ptrs), n)

    def read(self):
        _uc_reg_read_batch(*self._args)
        return self._vals[:]

    def write(self, values):
        self._vals[:] = values
        _uc_reg_write_batch(*self._args)


class GuestFault(Exception):
    """User code faulted: kind is read, write or exec (a page fault at addr;
    mapped tells a protection fault from a missing page), or ill (an invalid
    opcode at addr)."""

    def __init__(self, kind, addr, mapped):
        super().__init__(kind, addr)
        self.kind, self.addr, self.mapped = kind, addr, mapped


class Engine:
    def __init__(self, cpuid):
        self.uc = uc = Uc(UC_ARCH_X86, UC_MODE_64)
        self._cpuid = cpuid
        self.gate = None
        self._last_bad = None
        uc.mem_map(KBASE, KSIZE, UC.UC_PROT_ALL)
        uc.mem_write(GDT_ADDR, _boot_gdt())
        uc.reg_write(X.UC_X86_REG_GDTR, (0, GDT_ADDR, 8 * GDT_ENTRIES - 1, 0))
        # Linux sets EFER.SCE; without it Unicorn makes a user-mode SYSRET #UD
        # (SIGILL) instead of the #GP (SIGSEGV) it is on Linux.
        uc.msr_write(MSR_EFER, uc.msr_read(MSR_EFER) | EFER_SCE)
        self._pending_error = None
        self.async_stopped = False     # a stop was requested from another thread
        self._exception_in_flight = False
        self._rewind = None
        self._skip_step_at = None
        self._raw_hooks = [
            self._raw_hook(UC.UC_HOOK_INTR, _HOOK_INTR_CB(self._on_intr)),
            self._raw_hook(UC.UC_HOOK_INSN, _HOOK_INSN_CB(self._on_syscall), X.UC_X86_INS_SYSCALL),
            self._raw_hook(UC.UC_HOOK_INSN, _HOOK_INSN_CB(self._on_sysenter),
                           X.UC_X86_INS_SYSENTER),
        ]
        uc.hook_add(UC.UC_HOOK_INSN, self._on_cpuid, None, 1, 0, X.UC_X86_INS_CPUID)
        uc.hook_add(UC.UC_HOOK_INSN_INVALID, self._on_invalid)
        uc.hook_add(UC.UC_HOOK_MEM_INVALID, self._on_bad_mem)
        # Unicorn lets user code run IN and OUT (it skips the IOPL and TSS
        # bitmap check and calls these hooks instead); on Linux they are #GP.
        uc.hook_add(UC.UC_HOOK_INSN, self._on_in, None, 1, 0, X.UC_X86_INS_IN)
        uc.hook_add(UC.UC_HOOK_INSN, self._on_out, None, 1, 0, X.UC_X86_INS_OUT)
        self._all_regs = self.batch(_REWIND_REGS)
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

    def watch_blocks(self, fn):
        """Call fn() before every translated block of user code (fn None:
        stop). The run loop uses it to stop at a timer's deadline: stopping
        from a hook is exact, while emu_start's own timeout stops from
        another thread, and a stop that lands while a SYSENTER is being
        handled leaves EIP inside the next instruction (Unicorn 2.1.4)."""
        if getattr(self, "_block_hook", None) is not None:
            self.uc.hook_del(self._block_hook)
            self._block_hook = None
        if fn is not None:
            self._block_hook = self.uc.hook_add(UC.UC_HOOK_BLOCK, lambda uc, a, s, _: fn())
        self.uc.ctl_flush_tb()      # blocks translated before must see the change

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
        err = _uc_mem_read(self._uch, addr, self._u32_addr, 4)
        if err:
            raise UcError(err)
        return self._u32.value

    @staticmethod
    def _uc_prot(prot):
        return ((UC.UC_PROT_READ if prot & PROT_READ else 0)
                | (UC.UC_PROT_WRITE if prot & PROT_WRITE else 0)
                | (UC.UC_PROT_EXEC if prot & PROT_EXEC else 0))

    def map(self, addr, size, prot):
        self.uc.mem_map(addr, size, self._uc_prot(prot))

    def unmap(self, addr, size):
        self.uc.mem_unmap(addr, size)

    def protect(self, addr, size, prot):
        self.uc.mem_protect(addr, size, self._uc_prot(prot))

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
        self.uc.mem_write(GDT_ADDR + 8 * index, bytes(raw8))

    def read_gdt_entry(self, index):
        return bytes(self.uc.mem_read(GDT_ADDR + 8 * index, 8))

    # --- running -------------------------------------------------------
    def boot(self, entry, sp, compat):
        """Enter user mode at entry with the given stack, as execve does."""
        self.uc.mem_protect(KBASE, KSIZE, UC.UC_PROT_ALL)
        self.uc.mem_write(STUB_ADDR, _boot_stub(entry, sp, USER32_CS if compat else USER_CS))
        self.uc.reg_write(X.UC_X86_REG_RSP, KSTACK_TOP)
        try:
            self.uc.emu_start(STUB_ADDR, 0, 0, _BOOT_STUB_INSNS)
        except UcError as e:
            # The stub has entered user mode; its engine looked ahead at an
            # entry point it cannot fetch. That fault is the program's first
            # instruction's, taken when run() starts there.
            if e.errno not in (UC.UC_ERR_FETCH_UNMAPPED, UC.UC_ERR_FETCH_PROT):
                raise
        # Without paging there is no user/supervisor bit: the kernel page is
        # kept from user code by having no access rights at all. The CPU's
        # own descriptor reads when user code loads a segment are let
        # through by _on_bad_mem.
        self.uc.mem_protect(KBASE, KSIZE, UC.UC_PROT_NONE)
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

    def run(self, pc):
        """Run user code from pc until a hook stops the CPU; raise
        GuestFault when user code faults. (No emu_start timeout: see
        watch_blocks.)"""
        self._last_bad = None
        try:
            self.uc.emu_start(pc, NEVER)
            if self._pending_error is not None:
                err, self._pending_error = self._pending_error, None
                raise err
        except UcError as e:
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
        if self._skip_step_at is not None:
            skip, self._skip_step_at = self._skip_step_at, None
            if intno == 1 and self.uc.reg_read(X.UC_X86_REG_RIP) == skip:
                return      # see skip_single_step_at
        if intno in _CONTRIBUTORY:
            self._exception_in_flight = True
        try:
            self.gate.interrupt(intno)
        except BaseException as e:
            self._pending_error = e
            self.uc.emu_stop()

    def _on_syscall(self, uch, _):
        if self._rewind is not None:
            return
        try:
            self.gate.syscall_insn()
        except BaseException as e:
            self._pending_error = e
            self.uc.emu_stop()

    def _on_sysenter(self, uch, _):
        if self._rewind is not None:
            return
        try:
            self.gate.sysenter_insn()
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

    def _on_bad_mem(self, uc, access, addr, size, value, _):
        if KBASE <= addr < KBASE + KSIZE:
            if (access == UC.UC_MEM_READ_PROT and addr - GDT_ADDR < 8 * GDT_ENTRIES
                    and size == 4 and not addr & 3):
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

    def _on_in(self, uc, port, size, _):
        self._port_fault()
        return 0

    def _on_out(self, uc, port, size, value, _):
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

    def _on_cpuid(self, uc, _):
        leaf, sub = uc.reg_read(X.UC_X86_REG_EAX), uc.reg_read(X.UC_X86_REG_ECX)
        a, b, c, d = self._cpuid(leaf & 0xFFFFFFFF, sub & 0xFFFFFFFF, self.compat_mode())
        uc.reg_write_batch([(X.UC_X86_REG_RAX, a), (X.UC_X86_REG_RBX, b),
                            (X.UC_X86_REG_RCX, c), (X.UC_X86_REG_RDX, d)])
        return True


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


def native_cpuid_table(leaves):
    """CPUID answers of Unicorn's own CPU model, which ours starts from."""
    uc = Uc(UC_ARCH_X86, UC_MODE_64)
    uc.mem_map(0x1000, 0x1000)
    uc.mem_write(0x1000, b"\x0f\xa2")
    out = {}
    for leaf, sub in leaves:
        uc.reg_write_batch([(X.UC_X86_REG_RAX, leaf), (X.UC_X86_REG_RCX, sub)])
        uc.emu_start(0x1000, 0x1002)
        out[leaf, sub] = tuple(uc.reg_read_batch([X.UC_X86_REG_RAX, X.UC_X86_REG_RBX,
                                                  X.UC_X86_REG_RCX, X.UC_X86_REG_RDX]))
    return out
