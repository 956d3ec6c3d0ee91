"""sysgate as a gdb target: the guest's registers, memory, breakpoints and
stops, behind the interface gdbstub.GdbStub expects.

The rest of sysgate calls in at a few places only (each hunk marked "gdb
stub"), all no-ops while no gdb is attached (machine.debug is None):
  Machine._run        before_run(pc) each time user code is about to run,
                      exited(status) at the end
  signal.deliverable  signal_pick(): gdb sees a pending signal as it is
                      picked (before a system call's restart is decided)
  signal.deliver      signal_stop(): the same for faults, which skip that
  entry.common.do_syscall  syscall_stop() at entry and return, for `catch syscall`
The engine (cpu/engine.py) gives: hook_code_at, unhook, step_next,
drop_code, debug_reg, watch_pages, stop.
Breakpoints are code hooks bounded to their address (Engine.hook_code_at),
never int3 bytes in guest memory: a forked child, which runs on without
gdb, carries none, and no memory hook ever slows user stores.

A stop that happens inside the CPU (a system call, a signal delivered on
its way out) is reported from there, with the registers as user mode will
see them; once gdb resumes, the CPU is stopped at the end of that
instruction so the run loop passes through before_run, where breakpoint
changes and single-steps are applied outside any hook.
"""
import os
import signal
import threading
import time

from ..cpu.engine import REG
from ..kernel.errors import KernelError
from ..kernel.sigframe import siginfo, siginfo_32
from ..kernel.signal import (GuestSignal, SI_KERNEL, SI_USER, UNBLOCKABLE, deliver,
                              has_handler)
from . import svr4
from .gdbstub import Stop, SIGTRAP, SIGKILL
from .regs import NAME64, layout

TRAP_TRACE, TRAP_HWBKPT = 2, 4
INTERRUPT_WAIT = 0.2            # seconds before ^C becomes a real SIGINT
X86_EFLAGS_RF = 1 << 16
MAX_WATCH = 1 << 20            # a watched range's largest length
_SEGMENTS = frozenset("cs ss ds es fs gs".split())
_GPR32 = frozenset(NAME64.values()) | {"eflags"}


class SysgateTarget:
    def __init__(self, machine):
        self.machine = machine
        self.stub = None
        self.pid = os.getpid()
        self.bps = {}              # addr -> Z type gdb asked for
        self.watches = set()       # (Z type, addr, length)
        self._watch_synced = True
        self._hooks = {}           # addr -> hook handle on self._cpu
        self._cpu = None           # the Engine the hooks live on (a new one at exec)
        self.pending = Stop(SIGTRAP)   # the first stop: before the first instruction
        self._first = True
        self.overlay = None        # registers of a stop inside the CPU
        self.stepping = False      # gdb asked for one instruction
        self._step_ran = False     # ... and the CPU was told to run just that
        self._step_from = None     # (pc, engine's async_stops) when it was
        self._skip_bp = None       # resuming at a breakpoint: it does not fire at once
        self._catch = None         # None, or syscall numbers to stop at (empty: all)
        self._pass = frozenset()
        self._killed = False
        self._step_over_syscall = False
        self._reported = None        # the signal gdb saw in signal_pick, delivered next
        self._siginfo = None
        self._interrupt = None       # gdb's ^C: "stop" the CPU, or a "signal" was sent
        self._lock = threading.Lock()
        self.host_paths = {}         # guest path -> host path (the first program)

    # --- plumbing -----------------------------------------------------------
    @property
    def cpu(self):
        return self.machine.cpu

    @property
    def task(self):
        return self.machine.task

    def _active(self):
        if self.machine.debug is not self:
            return False
        if os.getpid() != self.pid:
            # A forked child: it runs free; the line and gdb stay the parent's.
            self.detach(shutdown=False)
            return False
        return True

    def detach(self, shutdown=True):
        for h in self._hooks.values():
            try:
                self._cpu.unhook(h)
            except Exception:
                pass
        self._hooks, self.bps, self._catch = {}, {}, None
        if self.watches:
            self.watches = set()
            try:
                self._cpu.watch_pages({}, None)
            except Exception:
                pass
        self.machine.debug = None
        self.stub.conn.close(shutdown)

    def interrupt(self, eof=False):
        """^C from gdb while the guest runs (reader thread). Computing user
        code is stopped and the stop reported as SIGINT, which the guest
        never sees unless gdb passes it. A guest blocked in a system call
        does not stop so: after INTERRUPT_WAIT it gets a real SIGINT, as
        gdbserver sends one, which ends the wait and is reported (and kept
        from the guest) at its delivery."""
        if eof:
            return
        with self._lock:
            self._interrupt = "stop"
        deadline = time.monotonic() + INTERRUPT_WAIT
        while time.monotonic() < deadline:
            if self._interrupt != "stop":
                return
            self.machine._async_stop()
            time.sleep(0.005)
        with self._lock:
            if self._interrupt != "stop":
                return
            self._interrupt = "signal"
        os.kill(os.getpid(), signal.SIGINT)

    def _take_interrupt(self):
        """A Stop for gdb's ^C if user code was stopped for it."""
        with self._lock:
            if self._interrupt != "stop":
                return None
            self._interrupt = None
        self._siginfo = siginfo(signal.SIGINT, SI_USER, True, pid=os.getpid())
        return Stop(signal.SIGINT)

    def _report(self, stop):
        """Tell gdb; serve it until it resumes. Returns the Resume."""
        with self._lock:
            if self._interrupt == "stop":
                self._interrupt = None      # this stop answers the ^C as well
        self._step_ran = False
        self.stepping = False
        conn = self.stub.conn
        conn.running = False
        resume = self.stub.stopped(stop, report=not self._first)
        self._first = False
        if resume.action == "kill":
            self._killed = True
            self.detach()
            raise GuestSignal(SIGKILL, "killed by gdb")
        if resume.action == "detach":
            self.detach()
            return resume
        self.stepping = resume.action == "step"
        conn.running = True
        return resume

    def _sync(self):
        """Breakpoints as gdb wants them, on the CPU now running the task."""
        cpu = self.cpu
        if cpu is not self._cpu:
            if self._cpu is not None and self.stub.exec_events:
                self.pending = Stop(SIGTRAP, ("exec", self.exec_file().hex()))
            self._cpu, self._hooks = cpu, {}
            self._watch_synced = not self.watches
        for addr in [a for a in self._hooks if a not in self.bps]:
            cpu.unhook(self._hooks.pop(addr))
            cpu.drop_code(addr, 1)
        if not self._watch_synced:
            self._sync_watches()
        for addr in self.bps:
            if addr not in self._hooks:
                self._hooks[addr] = cpu.hook_code_at(addr, lambda a=addr: self._on_breakpoint(a))

    def _on_breakpoint(self, addr):
        if not self._active():
            return
        if self._skip_bp == addr:
            self._skip_bp = None
            return
        if addr in self.bps:
            self.pending = Stop(SIGTRAP, ("hwbreak" if self.bps[addr] == 1 else "swbreak", ""))
            self.cpu.stop()

    # --- the calls from the run loop, the gate and signal delivery ---------
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

    # --- the GdbStub target interface ---------------------------------------
    @property
    def layout(self):
        return layout(self.task.is64)

    def threads(self):
        # One thread per process today. With threads, list every tid here
        # and let read_reg/write_reg follow the thread gdb selects (Hg).
        return [self.task.tid]

    def read_reg(self, name):
        name = NAME64.get(name, name)
        ov = self.overlay
        if ov is not None and name in ov:
            v = ov[name]
        elif name == "orig_rax":
            v = -1
        else:
            v = self.cpu.debug_reg(name)
        if not self.task.is64 and name in _GPR32:
            v &= 0xFFFFFFFF
        return v

    def write_reg(self, name, value):
        name = NAME64.get(name, name)
        if name in _SEGMENTS or name == "orig_rax":
            return      # loading a selector reloads its descriptor: not from gdb
        if self.overlay is not None and name in self.overlay:
            self.overlay[name] = value
        self.cpu.debug_reg(name, value)

    def _backed(self, addr, end):
        """How far from addr toward end the guest has memory (any rights)."""
        mm = self.task.mm
        a = addr
        while a < end:
            v = mm.find(a)
            if v is None or not v.backed:
                break
            a = v.end
        return min(a, end)

    def read_memory(self, addr, n):
        upto = self._backed(addr, addr + n)
        return self.cpu.mem_read(addr, upto - addr) if upto > addr else b""

    def write_memory(self, addr, data):
        if self._backed(addr, addr + len(data)) != addr + len(data):
            return False
        if data:
            self.task.mm.write_kernel(addr, data)
            self.cpu.drop_code(addr, len(data))
        return True

    def breakpoint(self, ztype, addr, kind, insert):
        if ztype in (0, 1):
            if insert:
                self.bps[addr] = ztype
            else:
                self.bps.pop(addr, None)
            return True
        # Watchpoints: 2 write, 3 read, 4 access; kind is the length.
        if not 0 < kind <= MAX_WATCH or addr + kind > 1 << 64:
            return False
        if insert:
            self.watches.add((ztype, addr, kind))
        else:
            self.watches.discard((ztype, addr, kind))
        self._watch_synced = False
        return True

    def _sync_watches(self):
        pages = {}
        for ztype, addr, n in self.watches:
            for page in range(addr & ~0xFFF, addr + n, 0x1000):
                if ztype != 2 or pages.get(page) != "rw":
                    pages[page] = "w" if ztype == 2 else "rw"
        self.cpu.watch_pages(pages, self._on_watch)
        self._watch_synced = True

    def _on_watch(self, accesses):
        """The instruction just run touched a watched page: a stop if it
        touched a watched range the way gdb asked."""
        if not self._active():
            return
        for is_write, a, size in accesses:
            for ztype, addr, n in sorted(self.watches):
                if a < addr + n and addr < a + size and (
                        ztype == 4 or (ztype == 2) == is_write):
                    why = {2: "watch", 3: "rwatch", 4: "awatch"}[ztype]
                    self.pending = Stop(SIGTRAP, (why, f"{max(a, addr):x}"))
                    return

    def siginfo(self):
        """The siginfo of the signal of the last stop, in the program's ABI."""
        info = self._siginfo
        if info is None:
            return None
        return info if self.task.is64 else siginfo_32(info)

    def libraries_svr4(self):
        return svr4.library_list(self.read_memory, self.task.auxv_bytes, self.task.word)

    def auxv(self):
        return self.task.auxv_bytes

    def exec_file(self):
        """The program's path as the guest names it (gdb opens it with
        vFile, which resolves it as the guest would)."""
        return os.fsencode(self.task.exe_path)

    # gdb names files as the guest would (vFile): they are opened through
    # the guest's own path walk, so --root, /proc (the guest's model) and
    # every confinement rule apply; only the first program, which the user
    # named by a host path that may lie outside the root, is mapped back.
    def open_file(self, path):
        if path in self.host_paths:
            return open(self.host_paths[path], "rb")
        from ..kernel.fs.lookup import AT_FDCWD, open_at
        try:
            host, _, _ = open_at(self.task, AT_FDCWD, path, os.O_RDONLY)
        except KernelError as e:
            raise OSError(e.errno, os.strerror(e.errno)) from None
        return os.fdopen(host, "rb")

    def readlink(self, path):
        from ..kernel.fs.lookup import AT_FDCWD
        from ..kernel.fs.names import readlink_at
        try:
            return readlink_at(self.task, AT_FDCWD, path)
        except KernelError as e:
            raise OSError(e.errno, os.strerror(e.errno)) from None

    def catch_syscalls(self, which):
        self._catch = which

    def pass_signals(self, signos):
        self._pass = frozenset(signos)
