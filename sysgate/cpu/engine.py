"""The trap layer: the Engine, the one Unicorn machine (cpu/ is the only
package that drives Unicorn; the Engine's parts are mixins beside it).

One Unicorn x86-64 machine models a 64-bit Linux kernel's view of the CPU:
a GDT with Linux's selectors, a ring-0 boot stub that IRETs into ring 3
(64-bit or compat mode), and hooks that turn every way user code leaves
user mode (INT n, SYSCALL, SYSENTER, CPUID, exceptions, invalid opcodes,
port I/O, bad memory accesses) into calls on a `gate` object supplied by
the entry layer.
"""
import ctypes

from unicorn import Uc, UcError, UC_ARCH_X86, UC_MODE_64
from unicorn import unicorn_const as UC
from unicorn import x86_const as X

from .cpuid import native_cpuid_table
from .debugging import Debugging
from .gdt import (ADDR_BITS, EFER_SCE, GDT_ADDR, GDT_ENTRIES, KBASE, KEND, KERNEL_HALF_TAG,
                  KSIZE, KSTACK_TOP, LDT_ADDR, LDT_SIZE, MSR_EFER, NEVER, STUB_ADDR, TRAP_BASE,
                  TRAP_PAGES, USER32_CS, USER_CS, USER_DS, VSYSCALL_PAGE,
                  _boot_gdt, _boot_stub, Descriptors)
from .insnfaults import _REWIND_REGS, InsnFaults
from .preempt import _SURVIVED_ANY, Preemption
from .protections import _NO_REGION, GuestMemory, Protections
from .qemuenv import QemuState
from .regbatch import REG, RegBatch
from . import ucpatch
from .ucfields import engine_fields
from .ucraw import (_HOOK_CPUID_CB, _HOOK_INSN_CB, _HOOK_INTR_CB, _HOOK_TLB_FILL_CB,
                    _uc_hook_add)

# What the entry layer, the run loop and the gdb stub import from here.
__all__ = ["Engine", "GuestFault", "REG", "USER_CS", "USER_DS", "USER32_CS",
           "native_cpuid_table"]

# Exceptions that QEMU's double-fault logic counts (contributory ones and
# #PF), whose "exception in flight" state must be cleared after each.
_CONTRIBUTORY = frozenset((0, 8, 10, 11, 12, 13, 14))

_UC_ERR_TO_KIND = {
    UC.UC_ERR_READ_UNMAPPED: "read", UC.UC_ERR_WRITE_UNMAPPED: "write",
    UC.UC_ERR_FETCH_UNMAPPED: "exec", UC.UC_ERR_READ_PROT: "read",
    UC.UC_ERR_WRITE_PROT: "write", UC.UC_ERR_FETCH_PROT: "exec",
}


# What execve leaves in the registers besides RIP, RSP and the segments:
# every general register zero, the FPU in its init state (see boot).
_BOOT_REGS = [(REG[r], 0) for r in
              "rax rbx rcx rdx rsi rdi rbp r8 r9 r10 r11 r12 r13 r14 r15".split()] + \
    [(X.UC_X86_REG_FPCW, 0x37F), (X.UC_X86_REG_MXCSR, 0x1F80), (X.UC_X86_REG_FPTAG, 0xFFFF)]


class GuestFault(Exception):
    """User code faulted: kind is read, write or exec (a page fault at addr;
    mapped tells a protection fault from a missing page), or ill (an invalid
    opcode at addr)."""

    def __init__(self, kind, addr, mapped):
        super().__init__(kind, addr)
        self.kind, self.addr, self.mapped = kind, addr, mapped


# The hooks and accessors live in mixins, one module each, so that a hook
# costs no extra Python call: a mixin's method is the Engine's own.
class Engine(GuestMemory, Preemption, Descriptors, InsnFaults, QemuState, Debugging):
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
        self._stale = []               # regions out of the guest's sight (see forget)
        self._process_state()
        self._watch, self.watch_hit = {}, None   # see watch_pages
        self._cpuid = cpuid
        self.gate = None
        self._map(KBASE, KSIZE, UC.UC_PROT_ALL)
        # Only the check at each block's start (see cpu.ucfields); found
        # once the engine is initialised, which the first mapping does.
        self._no_exit, self._invalid_addr = engine_fields(uc) or (None, None)
        ucpatch.install(uc)         # Unicorn patched in memory (once per host process)
        self._checks = True
        self.exit_checks(False)     # now, while nothing is translated
        uc.mem_write(GDT_ADDR, _boot_gdt())
        uc.reg_write(X.UC_X86_REG_GDTR, (0, GDT_ADDR, 8 * GDT_ENTRIES - 1, 0))
        self._map(LDT_ADDR, LDT_SIZE, UC.UC_PROT_NONE)
        uc.reg_write(X.UC_X86_REG_LDTR, (0, LDT_ADDR, LDT_SIZE - 1, 0x82 << 8))
        # Linux sets EFER.SCE; without it Unicorn makes a user-mode SYSRET #UD
        # (SIGILL) instead of the #GP (SIGSEGV) it is on Linux.
        uc.msr_write(MSR_EFER, uc.msr_read(MSR_EFER) | EFER_SCE)
        self.async_stopped = False     # a stop was requested from another thread
        self.async_stops = 0           # how many were ever requested (a gdb step's witness)
        self._install_preempt()
        self._raw_hooks = [
            self._raw_hook(UC.UC_HOOK_INTR, _HOOK_INTR_CB(self._on_intr)),
            self._raw_hook(UC.UC_HOOK_INSN, _HOOK_INSN_CB(self._gate_insn("syscall")),
                           X.UC_X86_INS_SYSCALL),
            self._raw_hook(UC.UC_HOOK_INSN, _HOOK_INSN_CB(self._gate_insn("sysenter")),
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
        self._uch = uc._uch
        self._write_batches = {}    # Unicorn ids -> their RegBatch (reg_write_batch)
        self._u32 = ctypes.c_uint32()
        self._u32_addr = ctypes.addressof(self._u32)
        # Every register, MSR and descriptor-table register as a new CPU has
        # them: what reuse_for_exec puts back.
        self._pristine = uc.context_save()

    def _process_state(self):
        """What a CPU knows of the process on it, as a new one knows it."""
        self._u32_seen = _NO_REGION    # see user_u32
        self._traps, self._trap_next = {}, 0     # trap page -> (user page, mapped, watched)
        self._watch_trap = None
        self._last_bad = None
        self._refused = None        # (kind, mapped, watched) of a store the TLB fill refused
        self._pending_error = None
        self._exception_in_flight = False
        self._rewind = None
        self._skip_step_at = None
        self._count = 0              # see step_next
        # Threaded: a system call stops the CPU and is dispatched after
        # emu_start returns, so its handler may block (and other threads
        # use the engine) without emu_start on its stack.
        self.defer = False
        self.deferred = None

    def reuse_for_exec(self):
        """This CPU for the next image of its process (program.exec_image,
        where the interpreter's translated code is worth keeping): its state
        as new, but for the regions set aside (forget) and the blocks
        translated from them. The caller has unmapped or forgotten every
        mapping of the image before."""
        uc = self.uc
        uc.context_restore(self._pristine)
        uc.mem_write(GDT_ADDR, _boot_gdt())        # no TLS entries
        uc.mem_write(LDT_ADDR, bytes(LDT_SIZE))    # no LDT
        # boot's stub: rewritten with the new entry and stack (a write by
        # the API leaves the blocks translated from it in place)
        uc.ctl_remove_cache(STUB_ADDR, STUB_ADDR + 0x1000)
        self._process_state()
        self.tls_loaded = None
        self.__dict__.pop("_gdt_shadow", None)     # what write_gdt_entry last wrote
        self.want_exact = self.survivable = False
        # Entries of the image before, trap pages' included, and the
        # jump cache, whose blocks are found by address alone.
        uc.ctl(UC.UC_CTL_TLB_FLUSH, UC.UC_CTL_IO_WRITE)

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

    def exit_checks(self, on):
        """Check for a stop after every memory access and instruction hook
        (on), or only at the start of each block (see cpu.ucfields)."""
        if self._no_exit is None or on == self._checks:
            return
        self._checks = on
        self._no_exit.value = not on
        self.uc.ctl_flush_tb()      # translated code holds the choice

    def batch(self, names):
        """A RegBatch for the named registers (see REG)."""
        return RegBatch(self.uc._uch, [REG[n] for n in names])

    def reg_write_batch(self, pairs):
        """[(Unicorn id, value)] in one C call, through a RegBatch kept per
        list of ids (a new thread's first registers, a sigreturn's, a
        tracer's, segment loads): Unicorn's own reg_write_batch costs
        about 50 us a call. As that one does, a value Unicorn refuses
        raises UcError, and values are taken modulo 2**64."""
        if not pairs:
            return
        ids = tuple(i for i, _ in pairs)
        b = self._write_batches.get(ids)
        if b is None:
            if len(self._write_batches) > 64:
                self._write_batches.clear()
            b = self._write_batches[ids] = RegBatch(self._uch, ids)
        err = b.write_status([v & 0xFFFFFFFFFFFFFFFF for _, v in pairs])
        if err:
            raise UcError(err)

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
    # --- running -------------------------------------------------------
    def boot(self, entry, sp, compat):
        """Enter user mode at entry with the given stack, as execve does."""
        self._protect(KBASE, KSIZE, UC.UC_PROT_ALL)
        self.uc.mem_write(STUB_ADDR, _boot_stub(entry, sp, USER32_CS if compat else USER_CS))
        user_cs = USER32_CS if compat else USER_CS
        stopped = False
        # Unicorn stops at `until` by translating the block there as an
        # exit: a block already translated at the entry point (the same
        # interpreter's, on a CPU an exec kept) would run on instead.
        self.uc.ctl_remove_cache(entry, entry + 1)
        while True:
            self.uc.reg_write(X.UC_X86_REG_RSP, KSTACK_TOP)
            try:
                # Up to the entry point, not counted: a count is a code hook
                # on every instruction, whose removal flushes what was
                # translated (twice an exec, with the exit checks it needs).
                self.uc.emu_start(STUB_ADDR, entry)
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
        # The block at the entry point was translated as the run's end:
        # the program's own is translated when it runs.
        self.uc.ctl_remove_cache(entry, entry + 1)
        if stopped:
            self.stop_async()
        # Without paging there is no user/supervisor bit: the kernel page is
        # kept from user code by having no access rights at all. The CPU's
        # own descriptor reads when user code loads a segment are let
        # through by _on_bad_mem.
        self._protect(KBASE, KSIZE, UC.UC_PROT_NONE)
        # Linux starts a program with the FPU in its init state: x87 extended
        # precision with all exceptions masked, SSE exceptions masked. Unicorn
        # resets both control words to 0 (single precision, all unmasked),
        # which changes long double results.
        self.reg_write_batch(_BOOT_REGS)

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


    def run(self, pc, count=0):
        """Run user code from pc until a hook stops the CPU (or count
        instructions ran: a thread's slice); raise GuestFault when user code
        faults. (No emu_start timeout: stops from other threads are
        exact through _install_preempt.)"""
        self._last_bad = self._watch_trap = self._refused = None
        debugged = self.gate is not None and self.gate.machine.debug is not None
        if self.want_exact or (self._preempt_hook is None and (
                debugged or (count > 0 and self.survivable))):
            self.exact_stops()      # a debugger's interrupt must be exact too
        step, self._count = self._count, 0      # a gdb single step (see step_next)
        if step:
            count = min(count, step) if count else step
        if (debugged or count > 0) != self._checks:
            # Unicorn's instruction count and a breakpoint's code hook stop
            # the CPU through the check after an instruction.
            self.exit_checks(not self._checks)
        try:
            self.uc.emu_start(pc, NEVER, 0, count)
            if self._pending_error is not None:
                err, self._pending_error = self._pending_error, None
                raise err
        except UcError as e:
            if self._rewind is not None:
                return      # the rest of a block after IN or OUT (see _port_fault)
            kind = _UC_ERR_TO_KIND.get(e.errno)
            if self._refused is not None and e.errno == UC.UC_ERR_EXCEPTION:
                kind, mapped, watched = self._refused
                addr = self._invalid_addr.value
                self._last_bad = (addr, mapped)
                if watched:
                    self._watch_trap = addr
            if self._watch_trap is not None:
                return self._watch_step(self.uc.reg_read(X.UC_X86_REG_RIP))
            if e.errno == UC.UC_ERR_INSN_INVALID:
                raise GuestFault("ill", self.uc.reg_read(X.UC_X86_REG_RIP), True) from None
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

    def stop(self):
        self.uc.emu_stop()
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

    def _gate_insn(self, kind):
        """The hook of one fast gate instruction (kind: "syscall" or
        "sysenter"): the gate's handler, then whether the process now needs
        exact stops (_after_call, behind a set test: the hot path)."""
        enter = kind + "_insn"

        def hook(uch, _):
            if self._rewind is not None:
                return
            if self.defer:
                self.deferred = kind
                self.uc.emu_stop()
                return
            try:
                getattr(self.gate, enter)()
                if self._preempt_hook is None and (self.want_exact or getattr(
                        self.gate.current, "orig_ax", None) in _SURVIVED_ANY):
                    self._after_call()
            except BaseException as e:
                self._pending_error = e
                self.uc.emu_stop()
        return hook

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
