"""The gate: every way user code enters the kernel, as Linux's
arch/x86/entry/common.c has one small function per mechanism.

The trap layer (cpu.engine) calls syscall_insn, sysenter_insn, interrupt
and interrupt; each builds pt_regs, dispatches through an ABI table,
runs the exit work and picks the return instruction.
"""
from time import perf_counter

from ..cpu.engine import REG, USER32_CS
from ..kernel.errors import KernelError
from ..kernel.sched import (ERESTART_RESTARTBLOCK, ERESTARTNOHAND, ERESTARTSYS, now_ns)
from ..kernel.sigframe import SA_RESTART
from ..kernel.signal import GuestSignal, deliver, deliverable, has_handler
from ..kernel.tables.unistd import NR_I386, NR_X86_64
from ..kernel.task import ExitGroup
from .common import Dispatcher, invoke, MASK64
from .ptregs import PtRegs
from .syscall import X86_EFLAGS_TF, sysret_allowed, sysretl_allowed

SIGILL, SIGTRAP, SIGFPE, SIGSEGV, SIGBUS = 4, 5, 8, 11, 7
EFAULT, EINTR = 14, 4
TRAP_BRKPT, TRAP_TRACE = 1, 2
ERESTART_MIN, ERESTART_MAX = ERESTARTSYS, ERESTART_RESTARTBLOCK

ENTRY64_NAMES = "rax rdi rsi rdx r10 r8 r9 rip eflags cs ss".split()
ENTRY32_NAMES = "rax rbx rcx rdx rsi rdi rbp rip eflags cs ss rsp".split()
M32 = 0xFFFFFFFF

# Exceptions and the signal Linux sends for each (arch/x86/kernel/traps.c).
EXCEPTION_SIGNALS = {0: SIGFPE, 1: SIGTRAP, 3: SIGTRAP, 4: SIGSEGV, 5: SIGSEGV, 6: SIGILL,
                     7: SIGSEGV, 8: SIGSEGV, 10: SIGSEGV, 11: SIGBUS, 12: SIGBUS, 13: SIGSEGV,
                     14: SIGSEGV, 16: SIGFPE, 17: SIGBUS, 19: SIGFPE}
# The vectors whose IDT gates are DPL 3 on a 64-bit Linux kernel (besides
# 0x80): INT3 and INTO. INT n to any other vector is a #GP, whatever the
# vector would mean if the CPU raised it.
USER_VECTORS = {3: SIGTRAP, 4: SIGSEGV}
# The legacy vsyscall page: a call to one of its three entries faults on the
# fetch and Linux emulates it (arch/x86/entry/vsyscall/vsyscall_64.c).
VSYSCALL_ADDR = 0xFFFFFFFFFF600000
VSYSCALL_NRS = (96, 201, 309)        # gettimeofday, time, getcpu


class Gate:
    def __init__(self, machine):
        self.machine = machine
        self.cpu = machine.cpu
        self.model = machine.model
        self.task = machine.task
        tables = Dispatcher().tables
        self.table64, self.table32 = tables["x86_64"], tables["i386"]
        self.trace = None          # callable(regs) when tracing
        self.landing_pad = None    # the vDSO's int80_landing_pad, once mapped
        self.current = None        # pt_regs of the call in progress
        self.sysenter_window = None  # [__kernel_vsyscall, its SYSENTER), when patched in
        self._nr_restart = {"x86_64": NR_X86_64["restart_syscall"],
                            "i386": NR_I386["restart_syscall"]}
        cpu = self.cpu
        self._sysenter_ok = {m: self.model.sysenter_ok(m) for m in (False, True)}
        self._compat_syscall_ok = self.model.syscall_ok(True)
        self._read64 = cpu.batch(ENTRY64_NAMES).read
        self._read32 = cpu.batch(ENTRY32_NAMES).read
        self._sysret64 = cpu.batch(["rax", "rcx", "r11"]).write
        self._write_ax = cpu.batch(["rax"]).write
        self._fast32 = cpu.batch(["rax", "rcx", "rsp", "rbp"]).write
        self._fast32_ip = cpu.batch(["rax", "rcx", "rsp", "rbp", "rip"]).write

    # --- events from the trap layer ----------------------------------------
    def syscall_insn(self):
        vals = self._read64()
        if vals[9] & 0xFFFF == USER32_CS:
            if not self._compat_syscall_ok:
                return self._fault(SIGILL, "SYSCALL in 32-bit code on this CPU", vals[7], 6)
            return self._guarded(self.do_fast_syscall_32, "syscall", self._read32())
        return self._guarded(self.do_syscall_64, vals)

    def sysenter_insn(self):
        vals = self._read32()
        if not self._sysenter_ok[vals[9] & 0xFFFF == USER32_CS]:
            return self._fault(SIGILL, "SYSENTER on this CPU", vals[7], 6)
        return self._guarded(self.do_fast_syscall_32, "sysenter", vals)

    def interrupt(self, vector):
        if vector == 0x80:
            return self._guarded(self.do_int80_syscall_32, self._read32())
        # Unicorn reports INT n and exceptions the CPU raised alike; only
        # RIP tells them apart: after INT n it is past the instruction, at an
        # exception it is on the faulting instruction.
        ip = self.cpu.reg_read(REG["rip"])
        length = self._software_interrupt(vector, ip)
        if not length:
            return self.exception(vector, ip, f"exception {vector}", err=self.cpu.error_code())
        if vector in USER_VECTORS:
            # A trap through a DPL-3 gate: reported after the instruction.
            return self._fault(USER_VECTORS[vector], f"INT {vector}", ip, vector)
        # Not allowed from user mode: #GP on the INT instruction itself, its
        # error code naming the IDT entry (vector << 3 | IDT bit).
        self._fault(SIGSEGV, f"INT {vector:#x} from user mode", ip - length, 13,
                    err=vector << 3 | 2)

    def _software_interrupt(self, vector, ip):
        """The length of the INT n (or INT3, INTO) that ends just before ip,
        or 0 when ip follows no such instruction."""
        try:
            before = self.cpu.mem_read(ip - 2, 2)
        except Exception:
            return 0
        if before == bytes((0xCD, vector)):
            return 2
        if (vector, before[1]) in ((3, 0xCC), (4, 0xCE)):
            return 1
        return 0

    def vsyscall(self, addr):
        """User code jumped into the vsyscall page (the trap layer saw the
        instruction fetch fault at addr)."""
        self._guarded(self.do_vsyscall, addr)

    def exception(self, vector, ip, why, err=0):
        """An exception the CPU raised at ip (a fault: the instruction; a
        trap: the one after), delivered as Linux's trap handlers do."""
        if vector == 1:
            # #DB: a single step is TRAP_TRACE, ICEBP TRAP_BRKPT, both with
            # the IP in si_addr (send_sigtrap).
            code = TRAP_BRKPT if why == "INT1" else TRAP_TRACE
            return self._fault(SIGTRAP, why, ip, 1, code=code, addr=ip)
        self._fault(EXCEPTION_SIGNALS.get(vector, SIGSEGV), why, ip, vector, err=err)

    # --- the gates ------------------------------------------------------------
    def do_syscall_64(self, vals):
        nr, a0, a1, a2, a3, a4, a5, ip, flags, cs, ss = vals
        ret = ip + 2
        # The number is an int (entry_SYSCALL_64: movslq %eax): the upper
        # half of RAX is ignored, and a negative one is past the table.
        regs = PtRegs("syscall", "x86_64", nr & M32, (a0, a1, a2, a3, a4, a5), ret, flags,
                      None, cs & 0xFFFF, ss & 0xFFFF)
        regs.cx, regs.r11 = ret, flags      # what the SYSCALL instruction did
        self._call(regs, self.table64, True)
        if regs.full is None and sysret_allowed(regs):
            regs.exit_path = "sysretq"
            self._sysret64((regs.ax & MASK64, ret, flags))
        else:
            regs.exit_path = "iret"
            if regs.full is None:
                # IRET restores pt_regs, where SYSCALL had put RCX and R11.
                self._sysret64((regs.ax & MASK64, ret, flags))
            else:
                self._iret(regs, insn_hook=True)
            self._single_step_after(regs, ret, flags)
        if self.trace:
            self.trace(regs)

    def do_int80_syscall_32(self, vals):
        ax, bx, cx, dx, si, di, bp, ip, flags, cs, ss, sp = vals
        # Arguments stay raw: the i386 table's converters cut them to 32 bits.
        regs = PtRegs("int80", "i386", ax & M32, (bx, cx, dx, si, di, bp),
                      ip, flags, sp, cs & 0xFFFF, ss & 0xFFFF)
        self._call(regs, self.table32, False)
        regs.exit_path = "iret"
        if regs.full is None:
            self._write_ax((regs.ax & MASK64,))
        else:
            self._iret(regs, insn_hook=False)
        if self.trace:
            self.trace(regs)

    def do_fast_syscall_32(self, gate, vals):
        """SYSENTER (Intel) or compat SYSCALL (AMD) from 32-bit code, with
        Linux's register convention: __kernel_vsyscall saved the user stack
        pointer in EBP (SYSENTER) or ECX in EBP (SYSCALL), and pushed EBP, the
        sixth argument, which the kernel reads back from the user stack."""
        ax, bx, cx, dx, si, di, bp, ip, flags, cs, ss, sp = vals
        if gate == "sysenter":
            # SYSENTER loses ESP (the vDSO saved it in EBP) and clears IF,
            # which Linux assumes was set (do_SYSENTER_32).
            sp, cx = bp & M32, cx & M32
            flags |= 0x200
        else:
            cx = bp & M32
        landing = self.landing_pad if self.landing_pad is not None else ip + 2
        regs = PtRegs(gate, "i386", ax & M32, None, landing, flags, sp & M32,
                      cs & 0xFFFF, ss & 0xFFFF)
        regs.cx = cx
        try:
            arg6 = self.cpu.user_u32(regs.sp)
            if arg6 is None:
                arg6 = self.task.mm.read_u32(regs.sp)
        except KernelError:
            # Linux returns -EFAULT through IRET, with EBP zeroed: the failed
            # get_user() into regs->bp stores 0.
            regs.ax = -EFAULT
            regs.args = (bx & M32, cx, dx & M32, si & M32, di & M32, 0)
            regs.full = {}
        else:
            regs.args = (bx, cx, dx, si, di, arg6)
            self._call(regs, self.table32, False)
        bp_out = regs.args[5]
        if regs.full is None and sysretl_allowed(regs, landing):
            regs.exit_path = "sysretl"
            ecx_out = landing        # SYSRETL takes the return EIP from ECX
        else:
            regs.exit_path = "iret"
            ecx_out = cx
        if regs.full:
            self._iret(regs, insn_hook=True)
        else:
            out = (regs.ax & MASK64, ecx_out, regs.sp, bp_out)
            if landing != ip + 2:
                self._fast32_ip(out + (landing - 2,))    # Unicorn adds the insn length
            else:
                self._fast32(out)
        if regs.exit_path == "iret":
            self._single_step_after(regs, landing, regs.flags)
        if self.trace:
            self.trace(regs)

    def repair_async_stop(self):
        """After a stop requested from another thread (a host signal).
        Unicorn 2.1.4 can end such a stop, when it lands in the block that
        leads into a SYSENTER, with EIP back at the block's start although
        the block's instructions ran. In __kernel_vsyscall the prologue
        (push ecx; push edx; push ebp; mov %esp,%ebp) tells: EBP equal to
        ESP means it all ran, and the SYSENTER is next."""
        window = self.sysenter_window
        if window is None:
            return
        cur = self._read32()
        ip, bp, sp = cur[7], cur[6], cur[11]
        if window[0] <= ip < window[1] and bp == sp:
            self.cpu.reg_write(REG["rip"], window[1])

    def _single_step_after(self, regs, ip, flags):
        """A return through IRET with TF set traps after the first user
        instruction, as the CPU cleared TF on the way in (SYSCALL's FMASK;
        Linux's SYSENTER entry). QEMU instead re-checks TF as soon as the
        SYSCALL or SYSENTER instruction is done and would trap at once."""
        full = regs.full or {}
        if full.get("eflags", flags) & X86_EFLAGS_TF:
            self.cpu.skip_single_step_at(full.get("rip", ip))

    def do_vsyscall(self, addr):
        """emulate_vsyscall: one of the page's three entries, called from
        64-bit code, runs its system call and returns as RET would; anything
        else there, or a bad stack or pointer, is SIGSEGV."""
        nr = (addr & 0xC00) >> 10
        if addr & ~0xC00 != VSYSCALL_ADDR or nr >= 3:
            return self._fault(SIGSEGV, "misaligned vsyscall", addr, 14)
        user = self.machine.thread.read_regs()
        sp = user["rsp"]
        try:
            caller = int.from_bytes(self.task.mm.read(sp, 8), "little")
        except KernelError:
            return self._fault(SIGSEGV, "vsyscall with bad stack", addr, 14)
        regs = PtRegs("vsyscall", "x86_64", VSYSCALL_NRS[nr],
                      tuple(user[r] for r in ("rdi", "rsi", "rdx", "r10", "r8", "r9")),
                      caller, user["eflags"], sp + 8, user["cs"], user["ss"])
        self._call(regs, self.table64, True)
        if regs.ax == -EFAULT:
            # A bad pointer: SIGSEGV, and no RET emulated.
            return self._fault(SIGSEGV, "vsyscall fault", addr, 14)
        regs.exit_path = "iret"
        if regs.full is None:
            self.machine.thread.write_regs({"rax": regs.ax & MASK64, "rip": caller,
                                            "rsp": sp + 8})
        else:
            self._iret(regs, insn_hook=False)
        if self.trace:
            self.trace(regs)

    # --- shared: dispatch and exit work --------------------------------------
    def _call(self, regs, table, is64):
        task = self.task
        if task.is64 is not is64:
            task.set_abi(is64)
        self.current = regs
        debug = self.machine.debug     # gdb stub: `catch syscall` stops
        if debug is not None:
            debug.syscall_stop(self, regs, True)
        if self.trace is None:
            regs.ax = invoke(task, table, regs.orig_ax, regs.args)
        else:
            t0 = perf_counter()
            regs.ax = invoke(task, table, regs.orig_ax, regs.args)
            regs.seconds = perf_counter() - t0
            regs.retval = regs.ax     # before a restart rewrites ax
        if debug is not None:
            debug.syscall_stop(self, regs, False)
        if task.pending or task.host.pending or -ERESTART_MAX <= regs.ax <= -ERESTART_MIN or (
                task.timers.deadline is not None and now_ns() >= task.timers.deadline):
            self._exit_work(regs)

    def _exit_work(self, regs):
        """syscall_exit_to_user_mode: fire due timers, decide a restart for a
        call a signal interrupted (arch_do_signal_or_restart), and deliver a
        pending, unblocked signal by building its frame. Any of these
        rewrites the frame, so the return goes through IRET."""
        task = self.task
        task.timers.expire()
        signo = deliverable(task)
        handled = bool(signo) and has_handler(task, signo)
        # A frame rewritten by the call itself (sigreturn) is final: its
        # registers are the interrupted ones, never a restart candidate, as
        # Linux's restore_sigcontext sets orig_ax = -1.
        rewritten = regs.full is not None
        restart = -regs.ax if not rewritten and -ERESTART_MAX <= regs.ax <= -ERESTART_MIN else 0
        ip, ax = regs.ip, regs.ax
        if restart:
            act_flags = task.sigactions[signo][1] if handled else 0
            if handled and (restart in (ERESTARTNOHAND, ERESTART_RESTARTBLOCK)
                            or restart == ERESTARTSYS and not act_flags & SA_RESTART):
                ax = -EINTR
            elif not handled and restart == ERESTART_RESTARTBLOCK:
                ax, ip = self._nr_restart[regs.abi], ip - 2
            else:
                ax, ip = regs.orig_ax, ip - 2
        if not signo and not restart:
            return
        thread = self.machine.thread
        if rewritten:
            base = regs.full
        else:
            base = self._user_regs_at_exit(regs, thread.read_regs())
            regs.ax = ax
            base["rax"], base["rip"] = ax & MASK64, ip
        saved, task.saved_sigmask = task.saved_sigmask, None
        new = deliver(task, signo, base, thread.read_fpu(), oldmask=saved) if signo else None
        if new is None and saved is not None:
            task.sigmask = saved
        regs.full = new if new is not None else base

    @staticmethod
    def _user_regs_at_exit(regs, cur):
        """The user registers as the return to user mode would leave them."""
        cur["rax"] = regs.ax & MASK64
        cur["rip"] = regs.ip
        if regs.gate == "syscall" and regs.abi == "x86_64":
            cur["rcx"], cur["r11"] = regs.cx, regs.r11
        elif regs.gate == "vsyscall":
            cur["rsp"] = regs.sp
        elif regs.gate != "int80":
            cur["rsp"], cur["rbp"], cur["rcx"] = regs.sp, regs.args[5], regs.cx
        return cur

    def _iret(self, regs, insn_hook):
        full = dict(regs.full or {})
        full.setdefault("rax", regs.ax & MASK64)
        if "rip" in full and insn_hook:
            full["rip"] -= 2          # Unicorn adds the SYSCALL/SYSENTER length after the hook
        self.machine.thread.write_regs(full)

    def _guarded(self, fn, *args):
        try:
            fn(*args)
        except ExitGroup as e:
            self._trace_unfinished()
            self.machine.finish(("exit", e.status))
        except GuestSignal as s:
            self._trace_unfinished()
            self.machine.finish(("signal", s.signo, s.why))

    def _trace_unfinished(self):
        """A call that never returns (exit_group, a fatal signal) is still
        one crossing; strace prints it with '= ?'."""
        regs = self.current
        if self.trace is not None and regs is not None and regs.exit_path is None:
            regs.ax = None
            regs.exit_path = "none"
            self.trace(regs)

    def _fault(self, signo, why, ip=None, trapno=0, err=0, code=None, addr=None):
        """An exception in user mode: the run loop turns it into a signal."""
        self.machine.raise_fault(signo, why, ip, trapno, err, code, addr)
