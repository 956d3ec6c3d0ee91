"""A tracee's signal-delivery-stops: the tracer sees each signal before
it is delivered and may change or cancel it."""
from ..sigframe import siginfo
from .consts import SIGKILL

SI_USER, SI_KERNEL = 0, 0x80
SIG_DFL = 0
SIGCONT = 18
STOP_SIGNALS = frozenset((19, 20, 21, 22))      # SIGSTOP SIGTSTP SIGTTIN SIGTTOU


class SignalStops:
    """Tracee's signal-delivery-stops."""

    def signal_pick(self, t, signo):
        """signo is the next pending signal: a signal-delivery-stop, before
        a system call it interrupted decides on a restart. Returns the signal
        to deliver now (0: none)."""
        if not self._active():
            return signo
        if self._reported == signo:
            return signo
        cur = t.pt_regs
        base = None
        orig = -1
        if cur is not None and cur.exit_path is None:
            base = t.regs_at_exit(t.thread.read_regs())
            orig = cur.orig_ax
        if signo == SIGCONT and self.group_stopped:
            self.continued()
            if self.seized and self._jobctl_trap(self._view(base, orig)):
                self._apply_cpu()
        while signo:
            if signo == SIGKILL or self.t.debugger is not self:
                return signo
            info = t.siginfo.get(signo) or t.proc.shared_siginfo.get(signo) or siginfo(
                signo, SI_USER, True)
            new = self._signal_report(t, signo, self._view(base, orig), info)
            if new == signo:
                self._reported = signo
                if self.info != info:       # PTRACE_SETSIGINFO changed it
                    own = t.own_pending & 1 << (signo - 1)
                    (t.siginfo if own else t.proc.shared_siginfo)[signo] = self.info
                return signo
            t.take_pending(signo)
            if new:
                self._queue(new, self.info if self.info[:4] == new.to_bytes(4, "little")
                            else siginfo(new, SI_USER, True, pid=self.tracer))
                self._reported = new
                return new
            ready = t.pending & ~(t.sigmask & ~((1 << 8) | (1 << 18)))
            signo = (ready & -ready).bit_length()
        return 0

    def signal_stop(self, t, signo, regs, info):
        """A signal about to be delivered to user code stopped with regs (a
        fault, or one signal_pick let through)."""
        if self._reported == signo:
            self._reported = None
            return self._stop_action(t, signo, regs, info)
        if signo == SIGKILL or not self._active():
            return signo, info
        new = self._signal_report(t, signo, self._view(regs), info or siginfo(
            signo, SI_KERNEL, True))
        for k in self.dirty:        # the delivery goes on from the tracer's registers
            if k in regs:
                regs[k] = self.view[k]
        if new != signo:
            bit = 1 << (signo - 1)
            if t.pending & bit:
                t.take_pending(signo)
            info = None if not new else siginfo(new, SI_USER, True, pid=self.tracer)
        elif self.info is not None:
            info = self.info
        return self._stop_action(t, new, regs, info)

    def _stop_action(self, t, signo, regs, info):
        """A stop signal whose action is the default one stops the traced
        process in a group-stop its tracer sees (do_signal_stop's
        do_jobctl_trap) instead of stopping it on the host."""
        if signo not in STOP_SIGNALS or t.sigactions.get(signo, (SIG_DFL,))[0] != SIG_DFL \
                or not self._active():
            return signo, info
        if t.pending & 1 << (signo - 1):
            t.take_pending(signo)
        self.group_stop(signo, regs)
        return 0, None

    def _signal_report(self, t, signo, view, info):
        sig = self._stop(signo, view, info=info)
        if sig is None:
            return signo          # detached: the signal goes on
        self._apply_cpu()
        if self.mode in ("step", "sysemu_step"):
            self.t.thread.cpu.stop()
        return sig
