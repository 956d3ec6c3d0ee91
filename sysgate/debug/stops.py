"""Where the guest stops for gdb: the calls sysgate's run loop, gate and
signal delivery make into the target (before_run, signal_pick,
signal_stop, syscall_stop, exited), each a no-op while no gdb is attached
(target.py's opening comment lists them)."""
import signal

from ..cpu.engine import REG
from ..kernel.sigframe import siginfo
from ..kernel.signal import SI_KERNEL, UNBLOCKABLE, deliver, has_handler
from .protocol import Stop, SIGTRAP, SIGKILL

TRAP_TRACE, TRAP_HWBKPT = 2, 4
X86_EFLAGS_RF = 1 << 16


class GuestStops:
    """SysgateTarget's stops (debug.target)."""

    def before_run(self, pc):
        """User code is about to run from pc: report a stop if there is one,
        then arm what gdb asked for. Returns where to run from."""
        if not self._active():
            return pc
        self._sync()
        stop, self.pending = self.pending, None
        if stop is None and self._step_ran:
            # A stop from another thread (a SIGCHLD, a timer) can land at the
            # block's start before the stepped instruction ran: then the
            # step is made again, not reported as done.
            armed = self._step_from
            cut_short = (self.stepping and armed is not None
                         and armed[0] == self.cpu.reg_read(REG["rip"])
                         and armed[1] != self.cpu.async_stops)
            if not cut_short:
                stop = Stop(SIGTRAP)
        if stop is None:
            stop = self._take_interrupt()
        if stop is not None:
            # The siginfo ptrace shows at such a stop: a step is TRAP_TRACE,
            # int3 SI_KERNEL, a debug-register hit TRAP_HWBKPT.
            why = stop.reasons[0][0] if stop.reasons else None
            if stop.signo == SIGTRAP:
                code = {None: TRAP_TRACE, "swbreak": SI_KERNEL}.get(why, TRAP_HWBKPT)
                self._siginfo = siginfo(SIGTRAP, code, True)
            if ("hwbreak", "") in stop.reasons:
                # A debug-register breakpoint is a fault: Linux reports it with
                # RF set, so the instruction does not trap again on resuming.
                self.overlay = {"eflags": self.cpu.reg_read(REG["eflags"]) | X86_EFLAGS_RF}
            try:
                resume = self._report(stop)
            finally:
                self.overlay = None
            if resume.action == "detach":
                return self.cpu.reg_read(REG["rip"])
            self._sync()
            if resume.signo:
                self._inject(resume.signo)
        pc = self.cpu.reg_read(REG["rip"])
        self._skip_bp = pc if pc in self.bps else None
        if self.stepping:
            self.cpu.step_next()
            self._step_ran = True
            self._step_from = (pc, self.cpu.async_stops)
        return pc

    def _inject(self, signo):
        """gdb resumed from a breakpoint or step stop with a signal: on Linux
        those stops are SIGTRAP deliveries, and the signal replaces it."""
        thread = self.machine.thread
        self.machine.debug = None          # not a stop again
        try:
            new = deliver(self.task, signo, thread.read_regs(), thread.read_fpu())
        finally:
            self.machine.debug = self
        if new is not None:
            thread.write_regs(new)

    def signal_pick(self, t, signo):
        """signo is the pending signal to deliver next (signal.deliverable):
        gdb sees it first, before a system call it interrupted decides on a
        restart, so a signal gdb keeps from the guest restarts the call as
        under ptrace. Returns the signal to deliver now (0: none)."""
        while signo:
            if signo == SIGKILL or signo in self._pass or not self._active():
                return signo
            gate = self.machine.gate
            cur = gate.current
            ov = None
            if cur is not None and cur.exit_path is None:
                # On the way out of a system call: what ptrace shows there
                # (the -ERESTART* code in RAX, orig_rax the call).
                ov = gate._user_regs_at_exit(cur, self.machine.thread.read_regs())
                ov["orig_rax"] = cur.orig_ax
            new = self._signal_report(t, signo, ov, t.siginfo.get(signo))
            if new == signo:
                self._reported = signo
                return signo
            t.pending &= ~(1 << (signo - 1))
            t.siginfo.pop(signo, None)
            if new:
                t.pending |= 1 << (new - 1)
                self._reported = new
                return new
            ready = t.pending & ~(t.sigmask & ~UNBLOCKABLE)
            signo = (ready & -ready).bit_length()
        return 0

    def signal_stop(self, t, signo, regs, info):
        """A signal is about to be delivered to user code stopped with regs
        (a fault, or one signal_pick let through): gdb sees it first, once.
        Returns (signo, info) to deliver, signo 0 for none."""
        if self._reported == signo:
            self._reported = None
            return signo, info
        if signo == SIGKILL or signo in self._pass or not self._active():
            return signo, info
        new = self._signal_report(t, signo, regs, info)
        if new != signo:
            t.pending &= ~(1 << (signo - 1))
            t.siginfo.pop(signo, None)
            info = None
        return new, info

    def _signal_report(self, t, signo, regs, info):
        """Report signo with regs over the CPU's registers; the signal gdb
        resumes with."""
        self.overlay = regs
        self._siginfo = info or t.siginfo.get(signo) or siginfo(signo, SI_KERNEL, True)
        try:
            resume = self._report(Stop(signo))
        finally:
            self.overlay = None
        if resume.action != "detach":
            self.cpu.stop()
        new = resume.signo
        if resume.action == "step" and new and has_handler(t, new):
            # Linux reports a step into a handler at its first instruction.
            self._step_done()
        if resume.action == "detach":
            # Detaching lets the signal through, unless it was gdb's own ^C.
            new = 0 if signo == signal.SIGINT and self._interrupt == "signal" else signo
        if signo == signal.SIGINT:
            self._interrupt = None
        return new

    def syscall_stop(self, gate, regs, entry):
        """The gate is dispatching (entry) or has just run (return) a system
        call: a stop when gdb catches it."""
        if not entry and self._step_over_syscall:
            self._step_over_syscall = False     # the step ends after the call: no return stop
            return
        if self._catch is None or self._catch and regs.orig_ax not in self._catch:
            return
        if not self._active():
            return
        ov = gate._user_regs_at_exit(regs, self.machine.thread.read_regs())
        ov["orig_rax"] = regs.orig_ax
        self.overlay = ov
        self._siginfo = siginfo(SIGTRAP, SIGTRAP | 0x80, True)   # as with PTRACE_O_TRACESYSGOOD
        why = "syscall_entry" if entry else "syscall_return"
        try:
            resume = self._report(Stop(SIGTRAP, (why, f"{regs.orig_ax:x}")))
        finally:
            self.overlay = None
        if resume.action != "detach":
            self.cpu.stop()
        if entry and resume.action == "step":
            # As PTRACE_SINGLESTEP from a syscall-entry stop: the system call
            # is the instruction stepped; it stops right after it.
            self._step_done()
            self._step_over_syscall = True

    def _step_done(self):
        """The step gdb asked for is over once the CPU stops (before_run
        reports it without running another instruction)."""
        self.stepping = False
        self._step_ran = True

    def exited(self, status):
        if self._killed or not self._active():
            return
        self.stub.conn.running = False
        self.stub.exited(status[0], status[1])
        self.stub.conn.close()
        self.machine.debug = None
