"""Machine: the wiring of a CPU model, the entry layer and a kernel; loads
a program and runs it.

What it wires lives elsewhere: a program is loaded by program.py (a new
image assembled by loader.process), a thread's registers are
cpu.context.Thread, system calls, the exit work and fault delivery are
entry/'s, the run loop is runloop.py and the host threads that run guest
threads are hostthreads.py.
"""
import os
import random
import threading

from .cpu.ucload import import_unicorn
import_unicorn()        # first, and without its loader's imports (cpu/ucload.py)
from .cpu.models import MODELS  # noqa: E402
from .kernel.mm import set_memory_limit
from .kernel.hostsig import HostSignals
from .cpu.context import Thread  # noqa: F401 (sysgate.machine.Thread, as before)
from .kernel.notify import Notifier
from .kernel.sigqueue import Queued
from .trace.events import EventStream, kernel_listener
from .trace.crossings import crossing_hook
from . import hostthreads, program, runloop
from .program import LoadError
from .kernel.lazyreg import register_handlers

register_handlers()     # every system call: its module imported at its first call


class Machine:
    def __init__(self, cpu="intel", root=None, seed=None, vdso=True, memory_limit=None,
                 net="host"):
        if cpu not in MODELS:
            raise LoadError(f"unknown CPU model {cpu!r} (choose from {', '.join(MODELS)})")
        if root is not None and not os.path.isdir(root):
            raise LoadError(f"{root}: root directory does not exist")
        self.model = MODELS[cpu]
        self.seed = seed
        self.rng = random.Random(seed if seed is not None else os.urandom(16))
        self.cpu = None             # an Engine per program: made at exec
        self.root = root
        self.use_vdso = vdso
        if memory_limit is not None:
            set_memory_limit(memory_limit)
        self.net = net             # --net: applied once, at load (kernel.net.setup_network)
        self.vdso = None
        self.interp_rec = None     # where the image's interpreter is (kernel.keepinterp)
        self.task = None
        self.gate = None
        self.status = None
        self.events = EventStream()
        self.notifier = Notifier()   # the kernel's events (kernel.notify), read by the trace layer
        self.notifier.subscribe(kernel_listener(self.events, self.note_event))
        self._deferred = []
        self.hostsig = HostSignals(self._async_stop, self._stops_here)
        self.session = os.getpid()   # the first guest process; its descendants are guests
        self.forked = False        # a child process: its end is this host process's end
        self.follow = False        # children keep emitting events (trace -f)
        self.pending_exec = None   # set by execve; the run loop switches CPUs
        self._loaded = None        # the thread whose context is in the CPU
        self.main_ident = None     # the host thread that runs the process's end
        self._strsize = 32
        self.debug = None          # gdb stub: sysgate.debug.target.SysgateTarget

    # --- processes --------------------------------------------------------
    def before_fork(self):
        """Empty the host-side buffers a forked child would write twice;
        a CPU ready for the child's exec (program.prepare_exec)."""
        runloop.flush_stdio()
        self.events.flush()
        program.prepare_exec(self)

    def after_fork_child(self):
        from .kernel.sched import Timers
        task = self.task
        proc = task.proc
        self.forked = True
        self.hostsig.after_fork()
        # Only the forking thread lives on in the child, as its first thread.
        lock, proc.cpu_sched = proc.cpu_sched, None
        if lock is not None:
            lock.closed = True
            for o in proc.threads.values():
                if o.host is not proc.host:
                    o.host.close()
            self.cpu.defer = False
            self.main_ident = threading.get_ident()
        task.host = proc.host
        proc.pid = task.pid = task.tid = os.getpid()
        proc.threads = {task.tid: task}
        proc.group_exit = None
        proc.leader_status = None
        task.own_pending, task.siginfo, task.queued = 0, {}, Queued()
        proc.shared_pending, proc.shared_siginfo, proc.shared_queued = 0, {}, Queued()
        task.pending = 0
        # Interval timers and alarms are not inherited; the run loop's wake-up
        # (armed from inside the fork call) must be.
        wake, task.timers = task.timers.wake, Timers(task)
        task.timers.wake = wake
        task.children = {}
        self._loaded = task
        if not self.follow:
            self.events.clear()
            self.gate.trace = None
        else:
            self.events.after_fork()
        if self.follow and self.gate.trace is not None:
            # strace -f shows the fork once, in the parent: swallow the
            # child's own return from it.
            shown = self.gate.trace
            self.gate.trace = lambda regs: setattr(self.gate, "trace", shown)

    def request_exec(self, replace):
        """execve passed its checks: once the CPU stops, replace() installs
        the new program."""
        self.pending_exec = replace
        self.cpu.stop()

    def _async_stop(self):
        """Stop user code from the host-signal thread (and wake every
        thread in a host wait: one of them may be the signal's taker)."""
        task = self.task
        lock = task.proc.cpu_sched if task is not None else None
        cpu = self.cpu
        if cpu is not None:
            cpu.async_stopped = True
            # exactly at the next block (see cpu.engine)
            cpu.stop_async("exact" if cpu.exact else self._stop_kind(task))
        if lock is not None:
            lock.poke_sleepers()
            for o in list(task.proc.threads.values()):
                kick = getattr(o.host, "kick", None)
                if kick is not None:
                    kick()

    def _stops_here(self, info):
        """Whether the signal helper may take a stop signal's default action
        itself: while user code runs without the block hook (one thread, no
        action set, no tracer), an exact stop would wait for the next system
        call, and a computing program would not stop at ^Z. Stopping the
        whole host process needs no exact point."""
        from .kernel.signal import DEFAULT_STOP, SIG_DFL
        task, cpu, signo = self.task, self.cpu, info.si_signo
        if task is None or cpu is None or cpu.exact or self.debug is not None:
            return False
        if signo not in DEFAULT_STOP or len(task.proc.threads) > 1:
            return False
        if task.sigmask & (1 << (signo - 1)) or \
                task.sigactions.get(signo, (SIG_DFL,))[0] != SIG_DFL:
            return False
        import signal
        return signal.getsignal(signo) == signal.SIG_DFL

    def _stop_kind(self, task):
        """How a stop from outside must land while the CPU's stops are not
        exact yet (a single thread that set no action, timer or tracer:
        cpu.engine stop_async): "now" when a signal that kills is ready,
        "none" when nothing queued acts in user code, else "exact"."""
        from .kernel.signal import DEFAULT_IGNORE, DEFAULT_STOP, SIG_DFL, SIG_IGN
        if task is None or self.debug is not None or task.timers.deadline is not None:
            return "exact"
        how = "none"
        from .kernel.sigpending import PTRACE_NOTE
        for info in list(self.hostsig.queue):
            signo = info.si_signo
            if not 0 < signo <= 64:
                continue
            if signo == 17 and any(s != 17 for s in task.children.values()):
                return "exact"      # a child's exit signal is not SIGCHLD
            if info.si_code == PTRACE_NOTE:
                return "exact"      # a tracer attaching (kernel.ptrace.attach): it goes on
            if task.sigmask & (1 << (signo - 1)):
                continue
            handler = task.sigactions.get(signo, (SIG_DFL,))[0]
            if handler == SIG_IGN or (handler == SIG_DFL and signo in DEFAULT_IGNORE):
                continue
            if handler != SIG_DFL or signo in DEFAULT_STOP:
                return "exact"
            how = "now"
        return how

    def random_bytes(self, n):
        """Guest-visible randomness: reproducible under --seed."""
        return self.rng.randbytes(n) if self.seed is not None else os.urandom(n)

    # --- exec -------------------------------------------------------------
    def load(self, path, argv, envp=None):
        """The first program (program.load); returns its task."""
        return program.load(self, path, argv, envp)

    parse = staticmethod(program.parse)

    def exec_image(self, img, exe, exe_path, execfn, argv, envp, interp=None):
        """A new image on a fresh CPU, past execve's point of no return
        (program.exec_image)."""
        program.exec_image(self, img, exe, exe_path, execfn, argv, envp, interp)

    # --- observation and intervention -------------------------------------
    def note_event(self, ev):
        """Emit ev, or hold it until the system call in progress has been
        traced (a signal delivered on its way out is shown after it, as
        strace shows it)."""
        cur = self.gate.current if self.gate is not None else None
        if cur is not None and cur.exit_path is None:
            self._deferred.append(ev)
        else:
            self.events.emit(ev)

    def replace_handler(self, name, fn):
        """Serve system call `name` (both ABIs) with fn(task, *args) instead
        of sysgate's handler; returns the handlers it replaced."""
        old = []
        for table in (self.gate.table64, self.gate.table32):
            for entry in table:
                if entry is not None and entry.name == name:
                    old.append(entry.fn)
                    entry.fn = fn
        if not old:
            raise KeyError(f"no handler for {name!r}")
        return old

    def enable_tracing(self, strsize=32):
        """Emit a Crossing event per system call (decoded while the guest's
        memory still holds the arguments)."""
        self._strsize = strsize
        self.gate.trace = crossing_hook(self.gate, self.task.mm, self.events, self._deferred,
                                        strsize)
        if self.vdso is not None:
            from .trace.vdso_calls import VdsoObserver
            self.vdso_observer = VdsoObserver(self, self.vdso)

    # --- run --------------------------------------------------------------
    def finish(self, status):
        """The calling thread ends, or its whole group (runloop.finish)."""
        runloop.finish(self, status)

    # Old names, for callers not yet moved to entry/.
    def run(self):
        """Run the loaded program to its end: ('exit', code) or
        ('signal', signo, why) (runloop.run)."""
        return runloop.run(self)

    # --- threads --------------------------------------------------------
    def switch_to(self, t):
        """t holds the CPU now: its register context goes into the engine
        and it is `current` for the gate and the handlers."""
        cur = self._loaded
        if cur is not t:
            if cur is not None and cur.thread.cpu is self.cpu:
                cur.thread.save()
            t.thread.load()
            self._loaded = t
        self.task = self.gate.task = t
        self.thread = t.thread
        self.gate.current = t.gate_regs

    def start_thread(self, child):
        """A host thread for a new guest thread; returns its tid."""
        return hostthreads.start_thread(self, child)
