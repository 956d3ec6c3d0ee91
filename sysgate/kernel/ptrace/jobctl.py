"""A tracee's job control: the group-stop that is a ptrace-stop
(PTRACE_EVENT_STOP when seized), PTRACE_INTERRUPT's trap, PTRACE_LISTEN
and the SIGCONT that ends a group-stop."""
import os
import select

from ..sigframe import siginfo
from . import channel
from .consts import EVENT_STOP, SIGTRAP
from .notes import notify_tracer

CLD_STOPPED, CLD_CONTINUED = 5, 6
SIGCONT = 18
SIGCONT_BIT = 1 << (SIGCONT - 1)
UNBLOCKABLE = (1 << (9 - 1)) | (1 << (19 - 1))
LISTEN_POLL_MS = 50


class JobControl:
    """Tracee's group-stops, interrupts and LISTEN."""

    def _trap_code(self):
        """(exit code, siginfo, CLD code) of a trap into PTRACE_EVENT_STOP
        (seized) or a traditional group-stop, as do_jobctl_trap reports it."""
        sig = self.group_sig if self.group_stopped else SIGTRAP
        if not self.seized:
            return sig, False, CLD_STOPPED
        code = sig | EVENT_STOP << 8
        return code, siginfo(sig, code, True, pid=self.pid, uid=os.getuid()), CLD_STOPPED

    def _jobctl_trap(self, view=None):
        """The trap of PTRACE_INTERRUPT, of a seized child's start and of a
        group-stop; returns False when the tracer let go of us."""
        self.trap_pending = False
        code, info, why = self._trap_code()
        return self._stop(code, view if view is not None else self._now_view(), info=info,
                          why=why) is not None

    def interrupt(self):
        """PTRACE_INTERRUPT (or the start of a seized child) reaches us: a
        trap now, or after the stop we are in."""
        if self.stopping:
            if self.listening:
                self.listen_wake = True
            else:
                self.trap_pending = True
            return
        if not self._active():
            return
        if self._jobctl_trap():
            self._apply_cpu()
            if self.mode in ("step", "sysemu_step"):
                self.t.thread.cpu.stop()

    def _listen(self):
        """PTRACE_LISTEN: stay stopped, outside any ptrace-stop, until
        something happens: "trap" (the group-stop ended by SIGCONT, or the
        tracer's INTERRUPT: a new PTRACE_EVENT_STOP), "run" (another signal
        came: it is taken as if resumed), None (the tracer is gone)."""
        from ..sigpending import absorb_host_signals
        t = self.t
        wake = getattr(t.host, "wake_r", -1) if t.host is not None else -1
        self.listening, self.listen_wake = True, False
        try:
            return self._listening(t, wake, absorb_host_signals)
        finally:
            self.listening = False

    def _listening(self, t, wake, absorb_host_signals):
        while True:
            absorb_host_signals(t)
            ready = t.pending & ~(t.sigmask & ~UNBLOCKABLE)
            if self.group_stopped and ready & SIGCONT_BIT:
                self.continued()
                break
            if self.listen_wake:
                break
            if ready & ~SIGCONT_BIT:
                return "run"
            if self.group_stopped and self.tracer != os.getppid() and t.host is not None:
                # The real parent waits for the group-stop too (its wait
                # sees the host's): stopped on the host until SIGCONT, or
                # until the tracer's INTERRUPT continues us.
                self.host_stopped = True
                t.host.stop_self(self.group_sig)
                t.host.collect()
                continue
            p = select.poll()
            p.register(self.sock.fileno(), select.POLLIN)
            if wake >= 0:
                p.register(wake, select.POLLIN)
            with self._off_cpu():       # the other threads answer their tracer meanwhile
                p.poll(LISTEN_POLL_MS)
            msg = channel.recv(self.sock, block=False)
            if msg is None:
                return None
            if msg and msg.get("op") == "interrupt":
                break
        self.trap_pending = False
        return "trap"

    def group_stop(self, signo, regs):
        """A stop signal's default action while traced, about to be taken
        on regs: a group-stop, which is a ptrace-stop (PTRACE_EVENT_STOP
        when seized). After PTRACE_LISTEN a seized tracee stays stopped
        until SIGCONT; any resume runs it on."""
        self.group_stopped, self.group_sig, self.group_exit = True, signo, signo
        if self._jobctl_trap(self._view(regs)):
            for k in self.dirty:
                if k in regs:
                    regs[k] = self.view[k]
            self._apply_cpu()

    def continued(self):
        """SIGCONT came while our group-stop was in effect (a resume by the
        tracer does not end it): as prepare_signal, CLD_CONTINUED to the
        real parent; a seized tracee then traps (ptrace_trap_notify), the
        caller's part."""
        self.group_stopped, self.group_exit = False, 0
        if self.host_stopped:
            self.host_stopped = False       # the host told the parent
            return
        parent = os.getppid()
        from .processvm import _guest
        if _guest(self.t, parent):
            notify_tracer(parent, CLD_CONTINUED, SIGCONT)
