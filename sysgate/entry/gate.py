"""The gate: what the trap layer (cpu.engine) calls when user code enters
the kernel, and the per-CPU state the ways in share (the ABI tables, the
pt_regs of the call in progress, the vDSO's landing pad, the trace hook).

Each way in is its own module, as in Linux's arch/x86/entry: syscall64
(SYSCALL from 64-bit code), fast32 (SYSENTER and compat SYSCALL from
32-bit code), int80, vsyscall (the legacy page) and traps (exceptions and
other interrupts). The system calls all leave through common.do_syscall;
exceptions and interrupts through the run loop, which uses the same exit
(entry.exit). This class only routes.
"""
from ..cpu.engine import USER32_CS
from ..cpu.regbatch import ConstantCalls, RegFile
from .common import Dispatcher
from .exit import user_regs_at_exit
from .fast32 import do_fast_syscall_32, fast_entry32, repair_async_stop
from .int80 import do_int80_syscall_32, fast_interrupt
from .ptregs import CS_AT, ENTRY_NAMES, IP_AT, R11_AT, SYSFLAGS_AT, PtRegs
from .syscall64 import do_syscall_64, fast_entry
from .threaded import DEFER, FUTEX, INLINE, INLINE_CALL, WAITS, WAKES, route
from .traps import (SIGBUS, SIGFPE, SIGILL, SIGSEGV, SIGTRAP,  # noqa: F401 (re-exported)
                    do_exception, do_interrupt, raise_fault)
from .vsyscall import VSYSCALL_ADDR, VSYSCALL_NRS, do_vsyscall  # noqa: F401 (re-exported)


M32 = 0xFFFFFFFF


class Gate:
    def __init__(self, machine, cpu=None):
        self.machine = machine     # its debug stub and finish() (a call that ends the group)
        self.cpu = cpu if cpu is not None else machine.cpu     # (a spare CPU's, for an exec)
        self.model = machine.model
        self.task = machine.task   # the task on the CPU (Machine.switch_to)
        tables = Dispatcher().tables
        self.table64, self.table32 = tables["x86_64"], tables["i386"]
        self._process_state()
        # The pt_regs each way in fills in place when nothing observes the
        # calls and the process has one thread (entry.ptregs).
        self.regs64 = PtRegs("syscall", "x86_64", 0, (), 0, 0)
        self.regs80 = PtRegs("int80", "i386", 0, (), 0, 0)
        self.regs32 = {w: PtRegs(w, "i386", 0, (), 0, 0) for w in ("sysenter", "syscall")}
        cpu = self.cpu
        self._sysenter_ok = {m: self.model.sysenter_ok(m) for m in (False, True)}
        self._compat_syscall_ok = self.model.syscall_ok(True)
        # The register traffic: in place in the CPU's register file where
        # its layout is known (no call into Unicorn), else batched C calls.
        # _read: the registers of ptregs.ENTRY_NAMES; _read_syscall: the
        # same once the SYSCALL instruction has done its part (RCX, R11).
        rf = RegFile.find(cpu.uc)
        self._gprs = None          # the general registers in place, where known
        # The constant calls answered in machine code (cpu.regbatch
        # ConstantCalls), where Unicorn is the one known: const_count[0] = 0
        # empties their tables, x86-64's and i386's (every way in but the
        # common cases of SYSCALL and of __kernel_vsyscall's gate, every
        # stop: entry.syscall64).
        self.constants = None
        self.constants32 = None     # the i386 ones (ConstantCalls32), through the vDSO
        self.const_count = memoryview(bytearray(8)).cast("Q")
        if rf is not None:
            self._gprs = rf.gprs()
            self._read = self._read_syscall = rf.reader(ENTRY_NAMES)
            if not rf.syscall_saves(cpu.uc):
                rcx, r11 = rf.writer(["rcx"]), rf.rflags_into("r11")
                self._read_syscall = _saving(self._read, lambda ret, _: (rcx((ret,)), r11())[1])
            else:
                i386 = "sysenter" if self._sysenter_ok[True] else \
                    "syscall" if self._compat_syscall_ok else None
                self.constants = ConstantCalls.install(cpu.uc, rf.env_address(),
                                                       getattr(cpu, "_raw_hooks", ()), i386)
                if self.constants is not None:
                    self.const_count = self.constants.counts
                    self.constants32 = self.constants.i386
            self._write_ax = rf.writer(["rax"])
            self._fast32 = rf.writer(["rax", "rcx", "rsp", "rbp", "rip"])
        else:
            rcx_r11 = cpu.batch(["rcx", "r11"]).write
            self._read = cpu.batch(ENTRY_NAMES).read
            # sysflags read through the API is all of RFLAGS
            self._read_syscall = _saving(self._read,
                                         lambda ret, flags: (rcx_r11((ret, flags)), flags)[1])
            self._write_ax = cpu.batch(["rax"]).write
            self._fast32 = cpu.batch(["rax", "rcx", "rsp", "rbp", "rip"]).write
        self._emu_stop = cpu.uc.emu_stop
        # SYSCALL's common case in one function (entry.syscall64), which
        # sends the rest to the route above.
        compat = None
        if self._gprs is not None and self._compat_syscall_ok:
            compat = fast_entry32(self, "syscall", None, self._gprs, self._syscall_from)
        self.syscall_insn = fast_entry(self, self._read_syscall, self._syscall_from, compat)
        if self._gprs is not None:
            self.interrupt = fast_interrupt(self, self._read, self._gprs, self._int80_from)
            if self._sysenter_ok[True]:
                self.sysenter_insn = fast_entry32(self, "sysenter", self._read, self._gprs,
                                                  self._sysenter_from)

    def reuse_for_exec(self):
        """This gate for the next image of its process, on the same CPU
        (Engine.reuse_for_exec): as a new one would be. The tables are
        refilled in place (the fast paths hold them): a handler put in
        sysgate's place does not outlive the exec, as with a new gate."""
        tables = Dispatcher().tables
        self.table64[:] = tables["x86_64"]
        self.table32[:] = tables["i386"]
        self._process_state()
        self.const_count[0] = 0

    def _process_state(self):
        """What a gate knows of the process it serves, as a new one knows it."""
        self.trace = None          # callable(regs) when tracing
        self.landing_pad = None    # the vDSO's int80_landing_pad, once mapped
        self.current = None        # pt_regs of the call in progress
        self.sysenter_window = None  # [__kernel_vsyscall, its SYSENTER), when patched in
        self.fault = None          # an exception a gate saw, for the run loop (traps)
        # A process with threads: the gate, not the engine, decides which
        # calls leave the CPU first (entry.threaded).
        self.threaded = False
        self.redo = False          # the next entry is a deferred call's dispatch
        self.in_hook = False       # a call runs in the hook, its exit work left to the run loop

    # --- events from the trap layer ----------------------------------------
    def syscall_insn(self):
        self._syscall_from(self._read_syscall())

    def _syscall_from(self, vals):
        if self.threaded:
            return self._threaded("syscall", vals)
        if vals[CS_AT] & 0xFFFF == USER32_CS:
            if not self._compat_syscall_ok:
                return raise_fault(self, SIGILL, "SYSCALL in 32-bit code on this CPU", vals[IP_AT],
                                   6)
            return do_fast_syscall_32(self, "syscall", vals)
        do_syscall_64(self, vals)

    def sysenter_insn(self):
        self._sysenter_from(self._read())

    def _sysenter_from(self, vals):
        if self.threaded:
            return self._threaded("sysenter", vals)
        if not self._sysenter_ok[vals[CS_AT] & 0xFFFF == USER32_CS]:
            return raise_fault(self, SIGILL, "SYSENTER on this CPU", vals[IP_AT], 6)
        do_fast_syscall_32(self, "sysenter", vals)

    def interrupt(self, vector):
        if vector == 0x80:
            return self._int80_from(self._read())
        do_interrupt(self, vector)

    def _int80_from(self, vals):
        if self.threaded:
            return self._threaded("intr", vals)
        do_int80_syscall_32(self, vals)

    # The two fast gates' bodies again, for the threaded path (kept out of
    # the single-threaded path: a call there would cost every system call).
    def _syscall(self, vals):
        if vals[CS_AT] & 0xFFFF == USER32_CS:
            if not self._compat_syscall_ok:
                return raise_fault(self, SIGILL, "SYSCALL in 32-bit code on this CPU", vals[IP_AT],
                                   6)
            return do_fast_syscall_32(self, "syscall", vals)
        do_syscall_64(self, vals)

    def _sysenter(self, vals):
        if not self._sysenter_ok[vals[CS_AT] & 0xFFFF == USER32_CS]:
            return raise_fault(self, SIGILL, "SYSENTER on this CPU", vals[IP_AT], 6)
        do_fast_syscall_32(self, "sysenter", vals)

    def _threaded(self, kind, vals):
        """A system call of a process with threads (entry.threaded): run
        here, or stop the CPU for the deferred dispatch."""
        if self.redo:
            self.redo = False       # this is the deferred dispatch: as with one thread
        else:
            compat = kind != "syscall" or vals[CS_AT] & 0xFFFF == USER32_CS
            # ENTRY_NAMES: rax rcx rdx rbx rsp rbp rsi rdi ...
            if not compat:
                nr, uaddr, op, val = vals[0], vals[7], vals[6], vals[2]
            else:
                # compat SYSCALL: ECX is in EBP
                nr, uaddr, op, val = vals[0], vals[3] & M32, vals[5 if kind == "syscall" else 1], \
                    vals[2]
            if self.machine.debug is None and self.task.proc.cpu_sched is not None:
                # The common case (entry.threaded), inline: FUTEX_PRIVATE_FLAG
                # and FUTEX_CLOCK_REALTIME aside, op is the command.
                nr &= M32
                how = DEFER
                if nr == FUTEX[not compat]:
                    if op & 0x7F in WAKES:
                        how = INLINE_CALL
                    elif op & 0x7F in WAITS:
                        # A word that differs is EAGAIN at once; the caller
                        # holds the CPU, so it cannot change meanwhile.
                        cur = self.cpu.user_u32(uaddr)
                        if cur is not None and cur != val & M32:
                            how = INLINE_CALL
                elif nr in INLINE[not compat]:
                    how = INLINE_CALL
                if how == DEFER:
                    self.redo = True
            else:
                how = route(self)
            if how == DEFER:
                self.cpu.deferred = kind
                self._emu_stop()
                return
            # Another thread may enter the gate while this call sleeps,
            # but not while one runs in the hook: in_hook is this call's.
            if how == INLINE_CALL:
                self.in_hook = True
                try:
                    if kind == "syscall" and not compat:
                        return do_syscall_64(self, vals)
                    return self._run(kind, vals)
                finally:
                    self.in_hook = False
        if kind == "syscall" and vals[CS_AT] & 0xFFFF != USER32_CS:
            return do_syscall_64(self, vals)
        return self._run(kind, vals)

    def _run(self, kind, vals):
        if kind == "syscall":
            self._syscall(vals)
        elif kind == "sysenter":
            self._sysenter(vals)
        else:
            do_int80_syscall_32(self, vals)

    def vsyscall(self, addr):
        """User code jumped into the vsyscall page (the trap layer saw the
        instruction fetch fault at addr)."""
        do_vsyscall(self, addr)

    def exception(self, vector, ip, why, err=0):
        do_exception(self, vector, ip, why, err)

    def repair_async_stop(self):
        repair_async_stop(self)

    # The user registers as a call's return leaves them (the gdb stub,
    # sigreturn's badframe, clone of a thread).
    _user_regs_at_exit = staticmethod(user_regs_at_exit)


def _saving(read, saves):
    """_read_syscall for an engine without RegFile.syscall_saves: the SYSCALL
    instruction's part done here, as the hook would have done it (RCX the
    return address, R11 RFLAGS: saves(ret, sysflags) -> RFLAGS), for the
    same code segments, before the registers are read."""
    def read64():
        vals = read()
        if vals[CS_AT] & 0xFFFF == USER32_CS:
            return vals
        vals = list(vals)
        vals[R11_AT] = saves(vals[IP_AT] + 2, vals[SYSFLAGS_AT])
        return vals
    return read64
