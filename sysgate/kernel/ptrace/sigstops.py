"""A tracee's signal-delivery-stops: the tracer sees each signal before
it is delivered and may change or cancel it."""
from ..sigframe import siginfo
from .consts import SIGKILL
from .regs import M64, SEGMENTS, signed

SI_USER, SI_KERNEL = 0, 0x80
ERESTARTSYS, ERESTART_RESTARTBLOCK = 512, 516
NR_RESTART = {"x86_64": 219, "i386": 0}
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
            new = self._signal_report(t, signo, self._view(base, orig), info,
                                      cur if base is not None else None)
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
        # get_signal goes on to the next signal (the SIGCONT that ended the
        # stop) on this same way out: its delivery-stop comes now.
        from ..signal import deliverable
        nxt = deliverable(t) if self._active() else 0
        self._reported = None
        if nxt:
            return self._stop_action(t, nxt, regs, None)
        return 0, None

    def _signal_report(self, t, signo, view, info, call=None):
        """A signal-delivery-stop; call: the pt_regs of the system call it
        stops in, whose return frame takes the tracer's changes (a SYSENTER
        return would not see them on the CPU). New selectors go to the CPU,
        which loads null for one it refuses, as Linux's return does."""
        sig = self._stop(signo, view, info=info)
        if sig is None:
            return signo          # detached: the signal goes on
        if call is not None and self.dirty:
            self._apply_in_call(call)
        else:
            self._apply_cpu()
        if self.mode in ("step", "sysemu_step"):
            self.t.thread.cpu.stop()
        return sig

    def _apply_in_call(self, call):
        """The tracer's registers as the call's return frame; that frame is
        final, so a restart is decided here, on the tracer's orig_rax and
        rax, as for a signal that is not handled."""
        self._apply_exit(call)
        full = call.full
        if full is None:
            return
        for seg in SEGMENTS:
            full.pop(seg, None)
        self._apply_segments()
        bits = 64 if call.abi == "x86_64" else 32
        ax, orig = signed(full["rax"], bits), signed(self.view["orig_rax"], bits)
        if orig >= 0 and -ERESTART_RESTARTBLOCK <= ax <= -ERESTARTSYS:
            nr = NR_RESTART[call.abi] if ax == -ERESTART_RESTARTBLOCK else orig
            full["rax"], full["rip"] = nr & M64, (full["rip"] - 2) & M64
