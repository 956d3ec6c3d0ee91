"""The tracee's half of ptrace: while traced, the process's machine.debug
is a Tracee, so the gate, signal delivery and the run loop call it at the
points the gdb stub uses (syscall_stop, signal_pick, signal_stop,
before_run, exited). At each ptrace-stop it tells its tracer (channel.py)
and serves the tracer's requests until one resumes it: the stop blocks
this host process, which SIGKILL still ends.

What the tracer reads is a register view: x86-64 names with 64-bit
values, orig_rax, fs_base and gs_base, as pt_regs holds them at that stop
(-ENOSYS in rax at a syscall-entry stop). Changes the tracer makes are
applied when the stop ends: at a syscall-entry stop a new orig_rax and
arguments (orig_rax -1 skips the call and leaves the tracer's rax as its
result); at a syscall-exit stop a new rax, other registers
through the IRET return; elsewhere straight to the CPU."""
import contextlib
import os
import select
import signal as hostsignal

from ..sigframe import siginfo
from . import channel
from .notes import _sent, notify_tracer
from .consts import (EVENT_EXEC, EVENT_EXIT, O_EXITKILL, O_TRACEEXEC, O_TRACEEXIT,
                     O_TRACESYSGOOD, SIGTRAP)
from .hwbp import DebugRegs, HwBreakpoints
from .regs import M64, SEGMENTS, USER_REGS
from .jobctl import JobControl
from .requests import Requests
from .sigstops import SignalStops
from .sysstops import SyscallStops

SI_USER, SI_KERNEL = 0, 0x80
USER_CS, USER_DS = 0x33, 0x2B
CLD_EXITED, CLD_KILLED, CLD_TRAPPED = 1, 2, 4


# Its system-call and signal stops, job control and the tracer's requests
# are mixins (sysstops.py, sigstops.py, jobctl.py, requests.py).
class Tracee(SyscallStops, SignalStops, JobControl, Requests, HwBreakpoints):
    ptraced = True      # signal.ignored: a tracer sees ignored signals too

    def __init__(self, task, tracer, options=0, seized=False):
        self.t = task
        self.pid = os.getpid()
        self.tracer = tracer
        self.options = options
        self.seized = seized
        self.sock = None
        self.mode = "cont"          # how the tracer resumed it: cont, syscall, sysemu, step
        self._cpu = task.thread.cpu
        self._exec_exit = None      # an execve's number: its exit stop waits for the new program
        self._skip = None           # (rax, orig_ax, regs) a call the tracer skipped returns
        self._step_ran = False
        self._reported = None       # a signal the tracer let through at signal_pick
        self.view = None
        self.dirty = set()
        self.info = None
        # The debug registers are the thread's: a tracer that detached
        # leaves them set (and armed), and the next one reads them back.
        if task.hw_armer is not None:
            task.hw_armer.disarm_hw()
            task.hw_armer = None
        self.debugregs = task.debugregs or DebugRegs()
        task.debugregs = self.debugregs
        self._rearm = bool(task.debugregs.dr[7])
        self.stopping = False       # in a ptrace-stop (serving the tracer)
        self.trap_pending = False   # JOBCTL_TRAP_STOP: PTRACE_INTERRUPT, a seized child's start
        self.group_stopped = False  # in a group-stop (a stop signal's default action)
        self.group_sig = 0          # the signal of the group-stop in effect (jobctl's)
        self.group_exit = 0         # group_exit_code: a CLD_STOPPED's status
        self.listening = self.listen_wake = False    # PTRACE_LISTEN, and its end
        self.host_stopped = False   # listening stopped on the host (for the real parent)
        self._hooked = False        # in a call run in the CPU's hook: the CPU cannot be let go
        self._late_clone = None     # (tid, abi, nr) of the clone that made the process threaded

    @property
    def tid(self):
        return self.t.tid

    # --- plumbing ----------------------------------------------------------
    @property
    def task(self):
        return self.t

    def _active(self, regs=None):
        if self.t.debugger is not self:
            return False
        if os.getpid() != self.pid:
            return self._forked(regs)
        return True

    def _gone(self):
        try:
            os.kill(self.tracer, 0)
        except ProcessLookupError:
            return True
        except OSError:
            pass
        return False

    def _view(self, base=None, orig=-1):
        """The registers the tracer sees, over base (a gate's exit view)."""
        thread = self.t.thread
        v = dict(base) if base is not None else thread.read_regs()
        v["orig_rax"] = orig & M64
        v["fs_base"] = thread.get_base("fs")
        v["gs_base"] = thread.get_base("gs")
        out = {k: int(x) & M64 for k, x in v.items() if k in USER_REGS or k in (
            "orig_rax", "fs_base", "gs_base")}
        if out["cs"] == USER_CS:
            # Linux starts 64-bit programs with null ds and es (the engine
            # loads the flat data selector, which behaves the same there);
            # a debugger reads 0x2b in ds as an x32 program.
            for seg in ("ds", "es"):
                if out[seg] == USER_DS:
                    out[seg] = 0
        return out

    def detach(self, sig=0):
        # Linux's detach leaves the debug registers set (the next tracer
        # reads them back) and armed; here a hit is only seen while traced
        # (untraced, it would be the process's own SIGTRAP: not modelled).
        self.disarm_hw()
        self.t.debugger = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if sig:
            self._queue(sig, None)

    def _queue(self, sig, info):
        t = self.task
        t.add_pending(sig, info or siginfo(sig, SI_KERNEL, True))

    # --- a stop --------------------------------------------------------------
    def _stop(self, code, view, info=None, kind=None, msg=0, abi=None, why=CLD_TRAPPED):
        """Report a ptrace-stop (exit code: a signal, SIGTRAP|0x80, or
        SIGTRAP|event<<8) and serve the tracer until it resumes us.
        Returns the signal it resumed with (None: detached or gone).
        info False: a stop without siginfo (a traditional group-stop)."""
        if self.sock is None:
            self.sock = self._connect()
            if self.sock is None:
                self.detach()
                return None
        self.view, self.dirty = view, set()
        if self._rearm:
            self._rearm = False     # set before we were attached: armed from our first stop
            self.arm_hw()
        abi = abi or ("i386" if view["cs"] & 0xFFFF == 0x23 else "x86_64")
        self.stopping = True
        try:
            ok = self._announce(code, view, info, kind, msg, abi, why)
            while ok:
                req = self._next_request()
                if not req:
                    break
                done = self._serve(req)
                if done is None:
                    continue
                if done[0] == "listen":
                    then = self._listen()
                    if then is None:
                        break
                    if then == "run":
                        return 0
                    code, info, why = self._trap_code()
                    ok = self._announce(code, view, info, None, 0, abi, why)
                    continue
                if self.trap_pending and self.t.debugger is self:
                    # PTRACE_INTERRUPT during this stop: another trap now.
                    dirty = self.dirty
                    self.stopping = False
                    self._jobctl_trap(view)
                    self.dirty |= dirty
                return done[0]
        finally:
            self.stopping = False
        # The tracer went away: as Linux's exit_ptrace, EXITKILL kills us,
        # anything else lets us run on untraced.
        if self.options & O_EXITKILL:
            os.kill(os.getpid(), hostsignal.SIGKILL)
        self.detach()
        return None

    def _may_let_cpu_go(self):
        """Whether a host wait of this thread may let the process's CPU go
        to its other threads: it holds it, and not in a call the CPU's hook
        runs (which owns the engine)."""
        lock = self.t.proc.cpu_sched
        return lock is not None and not self._hooked and lock.owner is self.t

    def _off_cpu(self):
        """A context for a host wait in a stop: the other threads run
        meanwhile; ThreadKilled on taking the CPU back when the group ends."""
        if not self._may_let_cpu_go():
            return contextlib.nullcontext()
        return self.t.proc.cpu_sched.host_wait(self.t)

    def _connect(self):
        """A connection to the tracer, whose socket is made at its first
        wait or ptrace call: until then the other threads run, as while
        stopped (_next_request), so a tracer that waits for one of them
        before its first wait is not kept waiting for ever. The group's end
        ends the wait of a thread that is not ending itself."""
        t = self.t
        if not self._may_let_cpu_go():
            return channel.connect(t.session, self.tracer, self._gone)

        def gone():     # a thread that is ending itself still reports
            return self._gone() or t.exit_status is None and (
                t.killed or t.proc.group_exit is not None)
        with self._off_cpu():
            return channel.connect(t.session, self.tracer, gone)

    def _next_request(self):
        """The tracer's next request. A thread in a ptrace-stop does not
        hold up the others: the CPU is theirs meanwhile (not in a call the
        CPU's hook runs, which owns the engine), and the group's end (an
        exit_group, a fatal signal elsewhere) ends this stop (ThreadKilled
        from taking the CPU back)."""
        t = self.t
        if t.proc.cpu_sched is None or self._hooked:
            return channel.recv(self.sock)
        from ..cpulock import host_wait
        wake = getattr(t.host, "wake_r", -1)
        with host_wait(t):
            while self._ending or not (t.killed or t.proc.group_exit is not None):
                p = select.poll()
                p.register(self.sock.fileno(), select.POLLIN)
                if wake >= 0:
                    p.register(wake, select.POLLIN)
                if p.poll(100):
                    t.host.drain()
                    msg = channel.recv(self.sock, block=False)
                    if msg is not False:
                        return msg
        return None

    def _announce(self, code, view, info, kind, msg, abi, why):
        if info is None:
            info = siginfo(SIGTRAP, code, True, pid=self.pid, uid=os.getuid())
        self.info = info or None
        # The stop goes first: a tracer woken by the SIGCHLD finds it.
        seq = _sent[0] % 127 + 1
        ok = channel.send(self.sock, {"stop": 0x7F | code << 8, "view": view, "kind": kind,
                                      "msg": msg, "siginfo": (info or b"").hex(), "abi": abi,
                                      "parent": os.getppid(), "dr": self.debugregs.dr,
                                      "chld": seq, "tid": self.tid, "seized": self.seized,
                                      "options": self.options})
        if ok:
            status = code & 0x7F if why == CLD_TRAPPED else self.group_exit & 0x7F
            notify_tracer(self.tracer, why, status)
        return ok

    def _now_view(self):
        """The registers as a trap at this point shows them (inside a call:
        as its return would leave them)."""
        t = self.t
        cur = t.pt_regs
        if cur is not None and cur.exit_path is None:
            return self._view(t.regs_at_exit(t.thread.read_regs()), cur.orig_ax)
        return self._view()

    def _resumed(self, sig, info=None):
        """After a stop that is no signal delivery: a signal given with the
        resume is sent to the tracee (ptrace_report_syscall's send_sig)."""
        if sig:
            self._queue(sig, info)

    def _apply_cpu(self):
        """Register changes at a stop outside a system call."""
        out = {k: self.view[k] for k in self.dirty if k in USER_REGS and k not in SEGMENTS}
        if out:
            self.t.thread.write_regs(out)
        self._apply_segments()
        for seg in ("fs", "gs"):
            if seg + "_base" in self.dirty:
                self.t.thread.set_base(seg, self.view[seg + "_base"])

    def _apply_segments(self):
        for seg in sorted(self.dirty & SEGMENTS):
            try:
                self.t.thread.write_regs({seg: self.view[seg]})
            except Exception:
                # A selector whose descriptor cannot be loaded: Linux's
                # return to user mode loads the null selector instead.
                self.t.thread.write_regs({seg: 0})

    def _code(self, event=0):
        if event:
            return SIGTRAP | event << 8
        return SIGTRAP | (0x80 if self.options & O_TRACESYSGOOD else 0)

    # --- the run loop ----------------------------------------------------------
    def before_run(self, pc):
        self._hooked = False
        if not self._active():
            return pc
        if self._rearm:
            self._rearm = False     # set before we were attached
            self.arm_hw()
        if self._late_clone is not None:
            self._clone_stops()
            if self.t.debugger is not self:
                return self.t.thread.read_regs()["rip"]
        if self.trap_pending and not self.stopping:
            # A new thread's first trap (seized), or PTRACE_INTERRUPT
            # that reached this thread while another held the CPU.
            if self._jobctl_trap():
                self._apply_cpu()
            if self.t.debugger is not self:
                return self.t.thread.read_regs()["rip"]
        cpu = self.t.thread.cpu
        if cpu is not self._cpu:
            self._cpu = cpu
            self.disarm_hw()
            self.debugregs.reset()
            self._after_exec()
            if self.t.debugger is not self:
                return self.t.thread.read_regs()["rip"]
        if self._step_ran or self._hw_hit:
            # A single step, a hardware breakpoint or watchpoint (or both):
            # one debug trap, at the instruction's end (an execution
            # breakpoint's: before its instruction, which then runs once).
            bits, self._hw_hit = self._hw_hit, 0
            code = self.debugregs.hit(bits, self._step_ran)
            self._step_ran = False
            rip = self.t.thread.read_regs()["rip"]
            sig = self._stop(SIGTRAP, self._view(), info=siginfo(SIGTRAP, code, True, addr=rip))
            if sig is not None:
                self._apply_cpu()
                if bits & self._exec_slots():
                    self._hw_skip = self.t.thread.read_regs()["rip"]
                self._inject(sig)
        pc = self.t.thread.read_regs()["rip"]
        if self.mode in ("step", "sysemu_step") and self.t.debugger is self:
            cpu.step_next()
            self._step_ran = True
        return pc

    def _exec_slots(self):
        from .hwbp import slots
        return sum(1 << i for i, _, kind, _ in slots(self.debugregs.dr) if kind == "x")

    def _inject(self, sig):
        """A signal given when resuming from a stop that was a SIGTRAP
        delivery (a step, exec's legacy SIGTRAP) is delivered now."""
        if not sig:
            return
        from ..signal import deliver
        thread = self.t.thread
        self._reported = sig
        new = deliver(self.task, sig, thread.read_regs(), thread.read_fpu())
        self._reported = None
        if new is not None:
            thread.write_regs(new)

    def _after_exec(self):
        """The new program is loaded: PTRACE_EVENT_EXEC (or the legacy
        SIGTRAP), and the execve's exit stop with the new registers."""
        if self.options & O_TRACEEXEC:
            sig = self._stop(self._code(EVENT_EXEC), self._view(),
                             msg=getattr(self, "_exec_tid", None) or self.pid)
            if sig is None:
                return
            self._resumed(sig)
        exit_of = self._exec_exit
        self._exec_exit = None
        if exit_of is not None and self.mode == "syscall":
            view = self._view(orig=exit_of[0])
            view["rax"] = 0
            sig = self._stop(self._code(), view, kind="exit", msg=2, abi=exit_of[1])
            if sig is None:
                return
            self._apply_cpu()
            self._resumed(sig)
        if not self.options & O_TRACEEXEC and not self.seized:
            sig = self._stop(SIGTRAP, self._view(), info=siginfo(SIGTRAP, SI_USER, True))
            if sig is not None:
                self._apply_cpu()
                self._inject(sig)

    def _on_cpu(self):
        lock = self.t.proc.cpu_sched
        return lock is None or lock.owner is self.t

    def exit_stop(self, status):
        """PTRACE_EVENT_EXIT, once, while the CPU holds our registers."""
        if self._exit_stopped or not self._active():
            return
        self._exit_stopped = True
        if not self.options & O_TRACEEXIT:
            return
        lock = self.t.proc.cpu_sched
        if self.t.exit_status is None:
            # Killed with its group: it ends, so the CPU lock lets it take
            # the CPU (for its registers) and take it back after the stop.
            self.t.exit_status = status
        if lock is not None and lock.owner is not self.t:
            from ..cpulock import ThreadKilled
            try:
                lock.acquire(self.t)
            except ThreadKilled:
                pass
        if self._on_cpu():
            # The other threads run meanwhile (the tracer may resume them
            # first), even while the group ends.
            self._ending = True
            self._stop(self._code(EVENT_EXIT), self._view(), msg=_wstatus(status))

    _exit_stopped = False
    _ending = False         # in its PTRACE_EVENT_EXIT stop: the group's end does not end it

    def exited(self, status):
        """The process ends: PTRACE_EVENT_EXIT, and its status for a tracer
        that is not its parent (the host tells the parent)."""
        if not self._active():
            return
        wstatus = _wstatus(status)
        self.exit_stop(status)
        if self.sock is None and self.tid != self.pid:
            # A thread that never stopped: the host tells nobody of its end.
            self.sock = self._connect()
        if self.sock is not None and (self.tracer != os.getppid() or self.tid != self.pid):
            if channel.send(self.sock, {"exit": wstatus, "chld": _sent[0] % 127 + 1,
                                        "tid": self.tid}):
                # do_notify_parent: the tracer's SIGCHLD (the host sends the parent's)
                exited = status[0] == "exit"
                notify_tracer(self.tracer, CLD_EXITED if exited else CLD_KILLED,
                              status[1] & (0xFF if exited else 0x7F))
        self.detach()


def _wstatus(status):
    return (status[1] & 0xFF) << 8 if status[0] == "exit" else status[1] & 0x7F
