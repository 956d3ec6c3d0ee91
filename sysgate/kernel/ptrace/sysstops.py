"""A tracee's system-call stops: syscall-entry and syscall-exit stops
(PTRACE_SYSCALL, PTRACE_SYSEMU), the tracer's changes to the call, and the
fork, vfork and clone events, with a traced child's start."""
import os

from ..errors import KernelError
from ..sigframe import siginfo
from .consts import (EVENT_CLONE, EVENT_FORK, EVENT_VFORK, O_TRACECLONE, O_TRACEFORK,
                     O_TRACEVFORK, SIGSTOP)
from .regs import M32, M64, USER_REGS, signed

SI_USER = 0
ENOSYS = 38
CLONE_VFORK, CLONE_UNTRACED, CLONE_PTRACE, CLONE_THREAD = 0x4000, 0x00800000, 0x2000, 0x10000
FORKS = {"x86_64": {57: "fork", 58: "vfork", 56: "clone", 435: "clone3"},
         "i386": {2: "fork", 190: "vfork", 120: "clone", 435: "clone3"}}
EXECVE = {"x86_64": (59, 322), "i386": (11, 358)}
ARGS = {"x86_64": ("rdi", "rsi", "rdx", "r10", "r8", "r9"),
        "i386": ("rbx", "rcx", "rdx", "rsi", "rdi", "rbp")}
EMULATED = ("sysemu", "sysemu_step")
STEPS = ("step", "sysemu_step")
OPTION_OF = {EVENT_FORK: O_TRACEFORK, EVENT_VFORK: O_TRACEVFORK, EVENT_CLONE: O_TRACECLONE}


class SyscallStops:
    """Tracee's system-call and fork stops."""

    def syscall_stop(self, gate, regs, entry):
        if not self._active(None if entry else regs):
            return
        if entry:
            # One thread: the call runs in the CPU's hook, and so does the
            # clone that makes a second (its stops keep the CPU).
            self._hooked = self.t.proc.cpu_sched is None
            self._syscall_entry(gate, regs)
            return
        reported = self._syscall_exit(gate, regs)
        if not reported and self.mode in STEPS and not self._step_ran \
                and self.t.debugger is self:
            # Resumed by a step at a stop inside the call: its step trap
            # comes as the call returns (report_single_step), from the run
            # loop, which the CPU's stop brings us back to.
            self._step_ran = True
            self.t.thread.cpu.stop()
        if self.trap_pending and not self.stopping and self.t.debugger is self:
            # A seized child's first trap (ptrace_init_task's JOBCTL_TRAP_STOP)
            # on its way out of the call, after any exit stop, as get_signal's.
            view = self._view(self.t.regs_at_exit(self.t.thread.read_regs()), regs.orig_ax)
            if self._jobctl_trap(view):
                self._apply_exit(regs)

    def _syscall_entry(self, gate, regs):
        self._skip = None
        mode = self.mode
        if mode not in ("syscall", "sysemu", "sysemu_step"):
            return
        cur = self.t.thread.read_regs()
        # pt_regs' orig_ax is the whole RAX of a SYSCALL; only its low half
        # (an int) picks the call.
        self._orig_full = cur["rax"] & M64 if regs.abi == "x86_64" and \
            cur["rax"] & M32 == regs.orig_ax & M32 else None
        view = self._view(self.t.regs_at_exit(cur), self._orig(regs))
        sig = self._stop(self._code(), view, kind="entry", msg=1, abi=regs.abi)
        if sig is None:
            return
        self._apply_entry(gate, regs, mode in EMULATED)
        self._resumed(sig)

    def _syscall_exit(self, gate, regs):
        if self._skip is not None:
            # A skipped call returns what the tracer left in rax, with the
            # registers it changed (SYSEMU's restart moves rip back).
            (regs.ax, regs.orig_ax, full), self._skip = self._skip, None
            if full:
                full["rax"] = regs.ax & M64
                regs.full = full
            if self.mode in EMULATED:
                # SYSEMU: no exit stop, nor the step trap of the call
                # instruction (report_single_step: reported at entry).
                self._step_ran = False
                return True     # nor a step trap as it returns
        self._fork_event(gate, regs)
        if self._late_clone is not None:
            return True         # its stops come from the run loop (_clone_stops)
        if regs.orig_ax in EXECVE[regs.abi] and regs.ax == 0:
            self._exec_exit = (regs.orig_ax, regs.abi)   # reported from the new program
            self._exec_tid = self.tid       # GETEVENTMSG: the caller's tid before de_thread
            return
        if self.mode != "syscall" or self.t.debugger is not self:
            return
        view = self._view(self.t.regs_at_exit(self.t.thread.read_regs()), self._orig(regs))
        sig = self._stop(self._code(), view, kind="exit", msg=2, abi=regs.abi)
        if sig is None:
            return True
        self._apply_exit(regs)
        self._resumed(sig)
        return True         # a step from here traps after the next instruction

    _orig_full = None

    def _orig(self, regs):
        full = self._orig_full
        return full if full is not None and full & M32 == regs.orig_ax & M32 else regs.orig_ax

    def _apply_entry(self, gate, regs, emulated):
        v, d = self.view, self.dirty
        if not d and not emulated:
            return
        bits = 64 if regs.abi == "x86_64" else 32
        regs.args = tuple(v[n] for n in ARGS[regs.abi])
        nr = signed(v["orig_rax"], 32)      # do_syscall_64's int nr
        if emulated or nr == -1:
            # Skipped (SYSEMU, or -1): rax is what the tracer left; -1 makes
            # the dispatch a no-op. Any other number past the table is
            # dispatched, and says ENOSYS over the tracer's rax.
            full = {k: v[k] for k in USER_REGS} if d - {"rax", "orig_rax"} else None
            self._skip = (signed(v["rax"], bits), nr, full)
            nr = -1
        regs.orig_ax = nr

    def _apply_exit(self, regs):
        v, d = self.view, self.dirty
        if "rax" in d:
            regs.ax = signed(v["rax"], 64 if regs.abi == "x86_64" else 32)
        if d - {"rax", "orig_rax"}:
            full = {k: v[k] for k in USER_REGS}
            full["rax"] = regs.ax & M64
            for seg in ("fs", "gs"):
                if seg + "_base" in d:
                    full[seg + "_base"] = v[seg + "_base"]
            regs.full = full

    def _fork_event(self, gate, regs):
        kind = FORKS[regs.abi].get(regs.orig_ax)
        if kind is None or regs.ax <= 0:
            return
        event, flags = self._fork_kind(kind, regs)
        if event is None:
            return
        if flags & CLONE_THREAD:
            if not self._trace_thread(regs.ax, flags):
                return
            event = EVENT_CLONE
            if self._hooked:
                # The clone that made the process threaded ran in the CPU's
                # hook, which keeps the CPU: its stops wait for the run loop,
                # where the new thread can run to its own first stop.
                self._late_clone = (regs.ax, regs.abi, regs.orig_ax)
                self.t.thread.cpu.stop()
                return
        elif not self.options & OPTION_OF[event]:
            return
        view = self._view(self.t.regs_at_exit(self.t.thread.read_regs()),
                          regs.orig_ax)
        view["rax"] = -ENOSYS & M64       # reported from inside the call
        sig = self._stop(self._code(event), view, msg=regs.ax, abi=regs.abi)
        if sig is not None:
            self._resumed(sig)

    def _fork_kind(self, kind, regs):
        """(event, clone flags) of a fork, vfork, clone or clone3 call."""
        if kind == "fork":
            return EVENT_FORK, 0
        if kind == "vfork":
            return EVENT_VFORK, CLONE_VFORK
        if kind == "clone3":
            try:
                raw = self.task.mm.read(regs.args[0], 40)
            except KernelError:
                return None, 0
            flags = int.from_bytes(raw[:8], "little")
            exit_signal = int.from_bytes(raw[32:40], "little")
        else:
            flags = regs.args[0] & M64
            exit_signal = flags & 0xFF
        if flags & CLONE_VFORK:
            return EVENT_VFORK, flags
        return (EVENT_FORK if exit_signal == 17 else EVENT_CLONE), flags

    def _trace_thread(self, tid, flags):
        """A new thread of ours is traced from its start when our options
        ask for it (ptrace_init_task: SIGSTOP pending, or a seized
        tracee's PTRACE_EVENT_STOP)."""
        if flags & CLONE_UNTRACED or not (flags & CLONE_PTRACE or self.options & O_TRACECLONE):
            return False
        child = self.t.proc.threads.get(tid)
        if child is None:
            return False
        new = type(self)(child, self.tracer, self.options, seized=self.seized)     # a Tracee
        child.debugger = new
        new._start_stopped()
        return True

    def _start_stopped(self):
        """A tracee from birth (a thread, a child) starts as ptrace_init_task
        leaves it: with SIGSTOP pending, or seized, with a trap to take."""
        if self.seized:
            self.trap_pending = True
        else:
            self._queue(SIGSTOP, siginfo(SIGSTOP, SI_USER, True))

    def _clone_stops(self):
        """The stops of the clone that made the process threaded, from the
        run loop: PTRACE_EVENT_CLONE, then its syscall-exit stop."""
        tid, abi, nr = self._late_clone
        self._late_clone = None
        view = self._view(orig=nr)
        view["rax"] = -ENOSYS & M64
        sig = self._stop(self._code(EVENT_CLONE), view, msg=tid, abi=abi)
        if sig is None:
            return
        self._resumed(sig)
        if self.mode != "syscall" or self.t.debugger is not self:
            return
        view = self._view(orig=nr)
        sig = self._stop(self._code(), view, kind="exit", msg=2, abi=abi)
        if sig is None:
            return
        self._apply_cpu()
        self._resumed(sig)

    def _forked(self, regs):
        """First call in a child this tracee forked: it is traced from
        birth when its parent's options asked for it (or CLONE_PTRACE),
        and starts with SIGSTOP pending, as ptrace_init_task leaves it."""
        if self.sock is not None:
            self.sock.close()       # the parent's connection; ours is made at our first stop
            self.sock = None
        self.pid = os.getpid()
        self.disarm_hw()            # a child has no debug registers set (copy_thread)
        self.debugregs.reset()
        self._rearm = False
        kind = FORKS[regs.abi].get(regs.orig_ax) if regs is not None else None
        event, flags = self._fork_kind(kind, regs) if kind else (None, 0)
        traced = event is not None and not flags & CLONE_UNTRACED and (
            flags & CLONE_PTRACE or self.options & OPTION_OF[event])
        if not traced:
            self.t.debugger = None
            return False
        from . import channel
        channel.mark_traced(self.t.session, self.pid, True)
        self.mode = "cont"
        self._exec_exit = self._skip = None
        self._step_ran = False
        self._reported = None
        self._start_stopped()
        return True
