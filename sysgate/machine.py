"""Machine: the wiring of a CPU model, the entry layer and a kernel; loads
a program and runs it.

What it wires lives elsewhere: a new image is assembled by loader.process,
a thread's registers are cpu.context.Thread, system calls, the exit work
and fault delivery are entry/'s. The run loop is a small state machine:
run user code until the CPU stops (a gate ended the guest, an exec, an
interrupt, user code faulted), take the way back to user mode, and report
how the program ended.
"""
import os
import random
import sys
import threading

from .cpu.engine import Engine, GuestFault, REG
from .cpu.models import MODELS
from .entry.exit import irqentry_exit_to_user_mode
from .entry.gate import Gate
from .entry.traps import SIGSEGV, deliver_raised, page_fault, raise_fault
from .kernel.errors import KernelError
from .kernel.signal import GuestSignal, inherit_signal_state
from .kernel.fs.fdtable import FdTable
from .kernel.fs.path import FsContext
from .kernel.fs.procspool import publish as publish_guest_view
from .kernel.mm import AddressSpace, set_memory_limit
from .kernel.task import Task
from .kernel.thread import ThreadKilled
from .kernel.hostsig import HostSignals, die_by_signal
from .cpu.context import Thread  # noqa: F401 (sysgate.machine.Thread, as before)
from .loader import elf
from .loader.image import Fatal, choose_layout
from .loader.process import Identity, assemble
from .kernel.time import TimeKeeper
from .kernel.notify import Notifier
from .trace.events import EventStream, ExitEvent, kernel_listener
from .trace.crossings import crossing_hook
from . import handlers  # noqa: F401  (registers every system call)


SIGKILL_NO = 9


def _flush_stdio():
    """Write out what sysgate's own Python buffers hold (before a fork, which
    would copy them, and before a forked child's host process ends)."""
    import sys
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except (OSError, ValueError):
            pass


class LoadError(Exception):
    """The program cannot be started; the message is for the user."""


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
        self.task = None
        self.gate = None
        self.status = None
        self.events = EventStream()
        self.notifier = Notifier()   # the kernel's events (kernel.notify), read by the trace layer
        self.notifier.subscribe(kernel_listener(self.events, self.note_event))
        self._deferred = []
        self.hostsig = HostSignals(self._async_stop)
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
        """Empty the host-side buffers a forked child would write twice."""
        _flush_stdio()
        self.events.flush()

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
        task.own_pending, task.siginfo = 0, {}
        proc.shared_pending, proc.shared_siginfo = 0, {}
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
        """The first program: the host path the user named, checked and
        loaded as a shell's execve would (permissions, #! scripts whose
        interpreter is looked up inside the root, the ELF checks). Refusals
        are LoadError; a failure past execve's point of no return leaves
        the program dead of SIGSEGV, as Linux leaves it."""
        from .kernel.exec import open_host, prepare
        if envp is None:
            envp = [k + b"=" + v for k, v in os.environb.items()]
        self._setup_network()
        fsctx = FsContext(self.root)
        task = Task(self, None, FdTable(), fsctx, True)
        self.task = task
        inherit_signal_state(task)
        execfn = os.fsencode(path)
        argv = [a if isinstance(a, bytes) else os.fsencode(a) for a in argv]
        # A script's interpreter runs inside the root: it is handed the
        # script's name there, as under chroot.
        name = os.fsencode(self._guest_exe_path(fsctx, path)) if fsctx.confined else execfn
        try:
            first = open_host(path)
            img, f, interp, argv = prepare(task, first, name, argv)
        except KernelError as e:
            why = e.args[1] if len(e.args) > 1 else ""
            if why.startswith("cannot load its interpreter") and self.root:
                why += f" inside {self.root}"
            err = LoadError(f"{path}: " + (f"{why}: " if why else "") + os.strerror(e.errno))
            err.errno = e.errno         # execve's answer: the status a shell gives
            raise err from None
        exe = self._guest_exe_path(fsctx, path) if f is first else f.name
        if f is first:
            f.name = exe       # maps name it as the guest sees it, inside the root
        try:
            self.exec_image(img, f, exe, execfn, argv, envp, interp)
        except GuestSignal as s:
            self.status, self.entry = ("signal", s.signo, s.why), None
        return task

    def _setup_network(self):
        from .kernel.netns import setup_network
        try:
            setup_network(self.net)
        except OSError as e:
            raise LoadError(f"--net {self.net}: {e.strerror or e}") from None
        except ValueError:
            raise LoadError(f"unknown --net mode {self.net!r} (host, admin or none)") from None

    @staticmethod
    def parse(buf, pread, path):
        """The ELF checks made before exec's point of no return (buf: the
        file's first bytes, pread(n, pos) reads more)."""
        try:
            return elf.parse(buf, pread, path)
        except elf.ElfError as e:
            raise LoadError(str(e)) from None

    def exec_image(self, img, exe, exe_path, execfn, argv, envp, interp=None):
        """Give the task a new address space holding img (and its program
        interpreter for a dynamic program: interp is (image, Opened) from
        kernel.exec.open_interpreter), on a fresh CPU. This is past execve's
        point of no return: a failure kills the process with SIGSEGV
        (GuestSignal), as bprm_execve does."""
        task = self.task
        trace = self.gate.trace if self.gate is not None else None
        layout = choose_layout(img.is64, img.pie, self.rng)
        self.cpu = Engine(self.model.make_cpuid())
        mm = AddressSpace(self.cpu, img.is64)
        mm.mmap_base = layout.mmap_base
        task.mm = mm
        task.set_abi(img.is64)
        self.gate = Gate(self)
        self.cpu.gate = self.gate
        self.thread = task.thread = Thread(self.cpu, self.gate)
        task.exe_path = exe_path
        name = execfn.encode(errors="surrogateescape") if isinstance(execfn, str) else execfn
        task.comm = name.rsplit(b"/", 1)[-1][:15]     # as exec names the task
        self.vdso = None
        task.vdso_symbols = None
        argv = [a if isinstance(a, bytes) else os.fsencode(a) for a in argv]
        task.argv, task.envp = argv, envp
        ident = Identity(os.getuid(), os.geteuid(), os.getgid(), os.getegid(),
                         hwcap=self.model.make_cpuid()(1, 0, not img.is64)[3])
        try:
            done = assemble(mm, img, exe.exec_file(),
                            interp and (interp[0], interp[1].exec_file()),
                            layout, execfn, argv, envp, ident, self.random_bytes(16),
                            self.model.fast_compat_gate(), self.use_vdso)
        except (Fatal, KernelError, OSError) as e:
            raise GuestSignal(SIGSEGV, f"exec failed past its point of no return: {e}") from None
        finally:
            exe.close()
            if interp is not None:
                interp[1].close()
        entry, self.vdso, task.auxv_bytes = done.entry, done.vdso, done.auxv_bytes
        if self.vdso is not None:
            task.vdso_symbols = self.vdso.symbols
            vvar = self.vdso.vvar
            task.timekeeper = TimeKeeper(lambda page: mm.write_kernel(vvar, page), getcpu=0)
            self.gate.landing_pad = self.vdso.landing_pad
            if not img.is64 and mm.read(self.vdso.landing_pad - 4, 2) == b"\x0f\x34":
                sysenter_at = self.vdso.landing_pad - 4
                self.gate.sysenter_window = (self.vdso.vsyscall, sysenter_at)
        else:
            task.timekeeper = TimeKeeper()
        self.cpu.boot(entry, done.sp, compat=not img.is64)
        self.entry = entry
        publish_guest_view(self)     # what the session's other guests see in /proc/<pid>
        if trace is not None:
            self.enable_tracing(self._strsize)

    def _guest_exe_path(self, fsctx, path):
        real = os.path.realpath(path)
        if not fsctx.confined:
            return real
        root = fsctx.root_host
        if real.startswith(root.rstrip("/") + "/"):
            return real[len(root.rstrip("/")):]
        return "/" + os.path.basename(real)

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
        """The calling thread ends: the whole group (exit_group, a fatal
        signal), or only itself (exit from a thread that is not the last)."""
        t = self.task
        proc = t.proc
        t.exit_status = status
        if t.exit_thread and len(proc.threads) > 1:
            if t.tid == proc.pid:
                proc.leader_status = status
        else:
            if t.exit_thread and getattr(proc, "leader_status", None) is not None:
                status = proc.leader_status     # the group's status is the leader's
            if proc.group_exit is None:
                proc.group_exit = status
            if proc.cpu_sched is not None:
                proc.cpu_sched.kill_others(t)
        self.status = status
        self.cpu.stop()

    # Old names, for callers not yet moved to entry/.
    def raise_fault(self, signo, why, ip=None, trapno=0, err=0, code=None, addr=None):
        """An exception seen inside a CPU hook (entry.traps.raise_fault)."""
        raise_fault(self.gate, signo, why, ip, trapno, err, code, addr)

    def _interrupt_return(self):
        irqentry_exit_to_user_mode(self.task)

    def run(self):
        """Run the loaded program to its end: ('exit', code) or
        ('signal', signo, why). In a forked child the host process ends
        here, as the guest process did."""
        self.hostsig.start()
        self.main_ident = threading.get_ident()
        try:
            status = self._run_main(self.task)
        finally:
            if not self.forked:
                self.hostsig.close()
        if self.forked:
            self.end_host_process(status)
        return status

    def end_host_process(self, status):
        from .kernel.fork import release_vfork_parent
        release_vfork_parent(self.task)
        _flush_stdio()
        if status[0] == "exit":
            os._exit(status[1])
        if os.environ.get("SYSGATE_VERBOSE") and len(status) > 2 and status[2]:
            # A child's death is its parent's to report; the why is ours.
            from .kernel.signal import NAMES
            name = NAMES.get(status[1], f"Signal {status[1]}")
            print(f"sysgate: pid {os.getpid()}: {name} ({status[2]})", file=sys.stderr,
                  flush=True)
        from .kernel import coredump
        coredump.die(self.task, status[1])
        die_by_signal(status[1])

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
        """A host thread for a new guest thread; returns its tid (the host
        thread's own id, unique among the host's tasks as a tid must be)."""
        h = threading.Thread(target=self._thread_main, args=(child,),
                             name="sysgate-guest", daemon=True)
        h.start()
        return h.native_id

    def _thread_main(self, t):
        lock = t.proc.cpu_sched
        try:
            lock.acquire(t)
            self._run_thread(t)
        except ThreadKilled:
            pass
        except BaseException as e:      # a kernel bug: the group ends with it
            import traceback
            if os.environ.get("SYSGATE_DEBUG"):
                traceback.print_exc()
            print(f"sysgate: internal error in thread {t.tid}: {e!r}", file=sys.stderr)
            t.exit_thread = False
            if lock.owner is t:
                self.finish(("signal", SIGKILL_NO, "internal error"))
            else:
                t.proc.group_exit = t.proc.group_exit or ("signal", SIGKILL_NO, "internal error")
                lock.kill_others(t)
        if threading.get_ident() == self.main_ident:
            # A forked child whose parent forked from a thread: this host
            # thread is now its process's first.
            status = self._process_end(t)
            self.end_host_process(status)
        self._thread_end(t)

    def _thread_end(self, t):
        """The thread is done (exit, or killed with its group): Linux's
        exit_mm work, then it leaves the group and the CPU."""
        from .kernel.thread_exit import exit_mm_release
        lock = t.proc.cpu_sched
        if lock is not None and lock.owner is t and t.exit_thread:
            exit_mm_release(t)
        if lock is not None:
            lock.gone(t)

    def _run_main(self, task):
        if self.entry is None and self.status is not None:
            return self._process_end(task)     # exec failed past its point of no return
        try:
            self._run_thread(task)
        except ThreadKilled:
            pass
        return self._process_end(task)

    def _process_end(self, t):
        """The process's first host thread: wait for every thread to end,
        then the process ends."""
        proc = t.proc
        lock = proc.cpu_sched
        if lock is not None:
            self._thread_end(t)
            lock.wait_all_gone()
            status = proc.group_exit or getattr(proc, "leader_status", None) or t.exit_status
        else:
            status = t.exit_status or self.status
        self.status = status
        if self.debug is not None:         # gdb stub: W or X
            self.debug.exited(status)
        self.task.files.close_all()
        if self.events:
            self.events.emit(ExitEvent(status))
        return status

    def _run_thread(self, t):
        """Run thread t's user code until it ends (its exit, or its group's)."""
        proc = t.proc
        cpu = self.cpu
        pc = cpu.reg_read(REG["rip"]) if t.thread.ctx is not None or self._loaded is t \
            else self.entry
        if self._loaded is None:
            self._loaded = t
        self.gate.fault = None
        while t.exit_status is None and proc.group_exit is None:
            timers = t.timers
            cpu = self.cpu
            # A thread stops user code at the next timer's deadline, so the
            # signal arrives mid-computation as a timer interrupt's would.
            timers.wake = self.hostsig.deadlines.watch
            lock = proc.cpu_sched
            try:
                armed = timers.deadline is not None
                if armed and not cpu.exact:
                    cpu.exact_stops()       # a timer kept across execve
                self.hostsig.deadlines.watch(timers.deadline)
                if self.debug is not None:     # gdb stub: report a stop, arm a step
                    pc = self.debug.before_run(pc)
                by_syscall = False
                if lock is None:
                    cpu.run(pc)
                    if cpu.deferred is not None:
                        # The first call after the first clone: threaded now.
                        cpu.dispatch_deferred()
                else:
                    if t.pending & ~t.sigmask:
                        # Sent while this thread was off the CPU: delivered
                        # on its way back to user mode.
                        irqentry_exit_to_user_mode(self.task)
                        pc = cpu.rip()
                    lock.in_user = True
                    try:
                        cpu.run(pc, lock.slice_insns())
                    finally:
                        lock.in_user = False
                    if cpu.deferred is not None:
                        by_syscall = True
                        cpu.dispatch_deferred()
                        lock.syscalls += 1
                if self.pending_exec is not None:
                    self.pending_exec, new = None, self.pending_exec
                    if proc.cpu_sched is not None:
                        from .kernel.thread_exit import de_thread
                        de_thread(t)
                    new()
                    if proc.cpu_sched is not None:
                        self.cpu.threaded()
                        self._loaded = t
                        t.thread.ctx = None
                    pc = self.entry
                    continue
                if cpu.async_stopped:
                    cpu.async_stopped = False
                    self.gate.repair_async_stop()
                t.timekeeper.refresh()
                gate = self.gate
                if (armed or self.hostsig.pending or t.pending) and gate.fault is None \
                        and t.exit_status is None and proc.group_exit is None:
                    irqentry_exit_to_user_mode(self.task)
                if gate.fault is not None:
                    deliver_raised(gate, self.task)     # an exception a gate saw
            except GuestFault as f:
                try:
                    if not page_fault(self.task, f):
                        pc = self.cpu.reg_read(REG["rip"])
                        continue        # the page is there now: the instruction again
                except GuestSignal as s:
                    self._die(t, ("signal", s.signo, s.why))
            except GuestSignal as s:
                self._die(t, ("signal", s.signo, s.why))
            if t.exit_status is None and proc.group_exit is None:
                lock = proc.cpu_sched
                if lock is not None and lock.want_switch(t, by_syscall):
                    lock.yield_cpu(t, force=True)
                pc = self.cpu.rip()

    def _die(self, t, status):
        """A fatal signal: the whole group ends with it."""
        t.exit_thread = False
        self.finish(status)

