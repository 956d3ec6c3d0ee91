"""The gate: every way user code enters the kernel, as Linux's
arch/x86/entry/common.c has one small function per mechanism.

The trap layer (cpu.engine) calls syscall_insn, sysenter_insn, interrupt
and invalid_opcode; each builds pt_regs, dispatches through an ABI table,
runs the exit work and picks the return instruction.
"""
from ..cpu.engine import REG, USER32_CS
from ..kernel.errors import KernelError
from ..kernel.signal import GuestSignal
from ..kernel.task import ExitGroup
from .common import Dispatcher, invoke, MASK64
from .ptregs import PtRegs
from .syscall import sysret_allowed, sysretl_allowed

SIGILL, SIGTRAP, SIGFPE, SIGSEGV, SIGBUS = 4, 5, 8, 11, 7
EFAULT = 14

_R = REG
ENTRY64 = [_R[r] for r in "rax rdi rsi rdx r10 r8 r9 rip eflags cs ss".split()]
ENTRY32 = [_R[r] for r in "rax rbx rcx rdx rsi rdi rbp rip eflags cs ss rsp".split()]
RAX, RCX, R11, RSP, RBP, RIP = _R["rax"], _R["rcx"], _R["r11"], _R["rsp"], _R["rbp"], _R["rip"]
M32 = 0xFFFFFFFF

# Exceptions and the signal Linux sends for each (arch/x86/kernel/traps.c).
# Software INT n to a vector whose gate is not DPL 3 is a #GP: SIGSEGV.
EXCEPTION_SIGNALS = {0: SIGFPE, 1: SIGTRAP, 3: SIGTRAP, 4: SIGSEGV, 5: SIGSEGV, 6: SIGILL,
                     7: SIGSEGV, 10: SIGSEGV, 11: SIGBUS, 12: SIGBUS, 13: SIGSEGV,
                     14: SIGSEGV, 16: SIGFPE, 17: SIGBUS, 19: SIGFPE}


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

    # --- events from the trap layer ----------------------------------------
    def syscall_insn(self):
        vals = self.cpu.reg_read_batch(ENTRY64)
        if vals[9] == USER32_CS:
            if not self.model.syscall_ok(True):
                return self._fault(SIGILL, "SYSCALL in 32-bit code on this CPU")
            return self._guarded(self.do_fast_syscall_32, "syscall", self.cpu.reg_read_batch(ENTRY32))
        return self._guarded(self.do_syscall_64, vals)

    def sysenter_insn(self):
        vals = self.cpu.reg_read_batch(ENTRY32)
        if not self.model.sysenter_ok(vals[9] == USER32_CS):
            return self._fault(SIGILL, "SYSENTER on this CPU")
        return self._guarded(self.do_fast_syscall_32, "sysenter", vals)

    def interrupt(self, vector):
        if vector == 0x80:
            return self._guarded(self.do_int80_syscall_32, self.cpu.reg_read_batch(ENTRY32))
        self._fault(EXCEPTION_SIGNALS.get(vector, SIGSEGV), f"exception {vector}")

    def invalid_opcode(self):
        self._fault(SIGILL, "invalid opcode")

    # --- the gates ------------------------------------------------------------
    def do_syscall_64(self, vals):
        nr, a0, a1, a2, a3, a4, a5, ip, flags, cs, ss = vals
        ret = ip + 2
        regs = PtRegs("syscall", "x86_64", nr, (a0, a1, a2, a3, a4, a5), ret, flags, cs=cs, ss=ss)
        regs.cx, regs.r11 = ret, flags      # what the SYSCALL instruction did
        task = self.task
        task.set_abi(True)
        regs.ax = invoke(task, self.table64, nr, regs.args)
        self._exit_work(regs)
        if regs.full is None and sysret_allowed(regs):
            regs.exit_path = "sysretq"
            self.cpu.reg_write_batch([(RAX, regs.ax & MASK64), (RCX, ret), (R11, flags)])
        else:
            regs.exit_path = "iret"
            self._iret(regs, insn_hook=True)
        if self.trace:
            self.trace(regs)

    def do_int80_syscall_32(self, vals):
        ax, bx, cx, dx, si, di, bp, ip, flags, cs, ss, sp = vals
        regs = PtRegs("int80", "i386", ax & M32,
                      (bx & M32, cx & M32, dx & M32, si & M32, di & M32, bp & M32),
                      ip, flags, sp=sp, cs=cs, ss=ss)
        task = self.task
        task.set_abi(False)
        regs.ax = invoke(task, self.table32, regs.orig_ax, regs.args)
        self._exit_work(regs)
        regs.exit_path = "iret"
        if regs.full is None:
            self.cpu.reg_write(RAX, regs.ax & MASK64)
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
            sp, cx = bp & M32, cx & M32
        else:
            cx = bp & M32
        landing = self.landing_pad if self.landing_pad is not None else ip + 2
        regs = PtRegs(gate, "i386", ax & M32, None, landing, flags, sp=sp & M32, cs=cs, ss=ss)
        regs.cx = cx
        task = self.task
        task.set_abi(False)
        try:
            arg6 = task.mm.read_u32(regs.sp)
        except KernelError:
            regs.ax = -EFAULT
            regs.args = (bx & M32, cx, dx & M32, si & M32, di & M32, bp & M32)
            regs.full = {}          # Linux returns -EFAULT through IRET
        else:
            regs.args = (bx & M32, cx, dx & M32, si & M32, di & M32, arg6)
            regs.ax = invoke(task, self.table32, regs.orig_ax, regs.args)
            self._exit_work(regs)
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
            writes = [(RAX, regs.ax & MASK64), (RCX, ecx_out), (RSP, regs.sp), (RBP, bp_out)]
            if landing != ip + 2:
                writes.append((RIP, landing - 2))    # Unicorn adds the insn length
            self.cpu.reg_write_batch(writes)
        if self.trace:
            self.trace(regs)

    # --- shared exit work ----------------------------------------------------
    def _exit_work(self, regs):
        """syscall_exit_to_user_mode: pending signals (delivery is not modelled
        yet: a pending deliverable signal has already ended the guest)."""

    def _iret(self, regs, insn_hook):
        full = dict(regs.full or {})
        full.setdefault("rax", regs.ax & MASK64)
        if "rip" in full and insn_hook:
            full["rip"] -= 2
        self.cpu.reg_write_batch([(_R[k], v) for k, v in full.items()])

    def _guarded(self, fn, *args):
        try:
            fn(*args)
        except ExitGroup as e:
            self.machine.finish(("exit", e.status))
        except GuestSignal as s:
            self.machine.finish(("signal", s.signo, s.why))

    def _fault(self, signo, why):
        self.machine.finish(("signal", signo, why))
