"""sysgate as a gdb target: the guest's registers, memory, breakpoints and
stops, behind the interface gdbstub.GdbStub expects.

The rest of sysgate calls in at a few places only (each hunk marked "gdb
stub"), all no-ops while no gdb is attached (machine.debug is None); the
calls are stops.py's:
  runloop             before_run(pc) each time user code is about to run,
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

from ..kernel.errors import KernelError
from ..kernel.sigframe import siginfo, siginfo_32
from ..kernel.signal import GuestSignal, SI_USER
from . import svr4
from .protocol import Stop, SIGTRAP, SIGKILL
from .regs import NAME64, layout
from ..cpu.engine import REG
from .stops import GuestStops

INTERRUPT_WAIT = 0.2            # seconds before ^C becomes a real SIGINT
MAX_WATCH = 1 << 20            # a watched range's largest length
_SEGMENTS = frozenset("cs ss ds es fs gs".split())
_GPR32 = frozenset(NAME64.values()) | {"eflags"}


class SysgateTarget(GuestStops):
    per_thread = False      # the stub debugs the whole process (Task.debugger)

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

    # --- the GdbStub target interface ---------------------------------------
    @property
    def layout(self):
        return layout(self.task.is64)

    selected = None     # the tid gdb chose with Hg (None: the thread that stopped)

    def threads(self):
        """Every thread of the process, the one that stopped (which holds
        the CPU) first."""
        cur = self.task
        return [cur.tid] + sorted(tid for tid in cur.proc.threads if tid != cur.tid)

    def thread_name(self, tid):
        """Its comm, as /proc/<pid>/task/<tid>/comm shows it."""
        from ..kernel.fs.procinfo import _comm
        o = self.task.proc.threads.get(tid) or self.task
        return _comm(o)

    def select(self, tid):
        """Hg: the registers gdb reads are tid's from now on."""
        self.selected = None if tid is None or tid == self.task.tid else tid

    def _other(self):
        tid = self.selected
        o = self.task.proc.threads.get(tid) if tid is not None else None
        return o if o is not None and o is not self.task else None

    def _other_reg(self, o, name):
        """A register of a thread off the CPU: its saved context has the
        general registers, segments and bases (the x87 and SSE registers
        read as 0)."""
        th = o.thread
        if name not in REG:
            return 0
        if th.ctx is not None:
            regs = {n: th.ctx.reg_read(r) for n, r in REG.items()}
            if o.gate_regs is not None:
                # In a system call: as its return will leave them (gdbserver
                # shows a blocked thread after its SYSCALL instruction).
                try:
                    regs = self.machine.gate._user_regs_at_exit(o.gate_regs, regs)
                except Exception:
                    pass
            v = regs.get(name, 0)
        else:
            v = (getattr(th, "first", None) or {}).get(name, 0)     # not run yet
        if not self.task.is64 and name in _GPR32:
            v &= 0xFFFFFFFF
        return v

    def read_reg(self, name):
        name = NAME64.get(name, name)
        o = self._other()
        if o is not None:
            return -1 if name == "orig_rax" else self._other_reg(o, name)
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
        if name in _SEGMENTS or name == "orig_rax" or self._other() is not None:
            # loading a selector reloads its descriptor: not from gdb; a
            # thread off the CPU keeps its registers (not modelled)
            return
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
