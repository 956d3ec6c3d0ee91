"""Processes and threads, split where Linux splits them.

A Process owns what its threads share: the address space, the fd table,
the fs root and cwd, signal actions, the shared pending set, itimers, limits
and the children. A Task is one thread: its CPU context (through `thread`),
its signal mask, pending set and alternate stack, its TLS, tid,
clear_child_tid, robust list and rseq. Handlers get the calling Task `t`;
what belongs to the process is reached through it (t.mm, t.files,
t.sigactions, ...), as Linux reaches current->mm or current->sighand.
"""
import os
import struct

from .notify import Notifier
from .sigqueue import SIGRTMIN, Queued
from .sched import Timers


class ExitGroup(Exception):
    """Raised by exit/exit_group: the run loop ends the guest."""

    def __init__(self, status):
        super().__init__(status)
        self.status = status


class Process:
    """What the threads of a process share beyond the objects every Task
    holds a reference to (mm, files, fs, sigactions, timers, ...: those are
    the same objects in each thread, and are only ever replaced while the
    process has one thread, at exec or in a forked child)."""

    def __init__(self, machine):
        self.machine = machine        # for Task's accessors (and kernel.cpulock's CPU lock)
        self.notify = getattr(machine, "notifier", None) or Notifier()   # observers (kernel.notify)
        self.pid = os.getpid()
        self.shared_pending = 0       # process-directed signals (shared_pending)
        self.shared_siginfo = {}
        self.shared_queued = Queued()  # realtime instances past the first (kernel.sigqueue)
        self.host = getattr(machine, "hostsig", None)   # signals from outside (hostsig)
        self.threads = {}             # tid -> Task, the live threads
        self.group_exit = None        # ('exit', code) / ('signal', signo, why) once ending
        self.leader_status = None     # the first thread's own exit, while others run on
        self.futex_queues = {}        # address -> [Waiter], private futexes of the threads
        self.cpu_sched = None         # kernel.cpulock.CpuLock once a second thread exists

    def raise_signal(self, signo, info=None):
        """A process-directed signal (a timer fired, a signal from outside):
        pending for the whole group; the thread complete_signal would pick
        (the leader unless it blocks it) is the one woken to act on it."""
        if signo:
            bit = 1 << (signo - 1)
            if signo >= SIGRTMIN and self.shared_pending & bit:
                return self.shared_queued.put(signo, info)
            if info is not None:
                self.shared_siginfo[signo] = info
            self.shared_pending |= bit
            self.retarget()
        return True

    def retarget(self):
        """Give each pending group signal a thread that does not block it,
        the leader first (the rest see it only once that one blocks it or
        ends), and wake that thread."""
        lock = self.cpu_sched
        bits = self.shared_pending
        hidden = {}
        if lock is not None and len(self.threads) > 1:
            order = sorted(self.threads.values(), key=lambda o: o.tid != self.pid)
            while bits:
                low = bits & -bits
                bits &= ~low
                taker = next((o for o in order if not o.sigmask & low), None)
                if taker is None:
                    # Blocked everywhere: whoever unblocks it (sigwait,
                    # sigsuspend, ppoll's mask) takes it; all look again.
                    for o in order:
                        if o is not lock.owner:
                            lock.wake(o)
                    continue
                for o in order:
                    if o is not taker:
                        hidden[o] = hidden.get(o, 0) | low
                if taker is not lock.owner:
                    lock.wake(taker)
        for t in self.threads.values():
            t.pending = t.own_pending | (self.shared_pending & ~hidden.get(t, 0))

    def set_shared(self, bits):
        """Change the shared pending set; every thread's pending view follows."""
        self.shared_pending = bits
        self.retarget()


class Task:
    """One thread of a process."""

    # What a new thread takes from the thread that made it: the same objects.
    SHARED = ("mm", "files", "fs", "pid", "exe_path", "argv", "envp", "auxv_bytes",
              "sigactions", "vdso_symbols", "uid", "timers", "timekeeper", "rlimits",
              "children", "vfork_done")

    def __init__(self, machine, mm, files, fs, is64, creator=None):
        self.machine = machine        # reached only by the accessors below (and kernel.thread)
        if creator is not None:
            self.proc = creator.proc
            for name in self.SHARED:
                setattr(self, name, getattr(creator, name))
        else:
            self.proc = Process(machine)
            self.mm, self.files, self.fs = mm, files, fs
            self.pid = self.proc.pid
            self.exe_path = ""
            self.argv, self.envp = [], []
            self.auxv_bytes = b""
            self.sigactions = {}
            self.vdso_symbols = None      # name -> address, once a vDSO is mapped
            self.uid = os.getuid()
            self.timers = Timers(self)
            self.timekeeper = None        # set at exec (kernel.time.TimeKeeper)
            self.rlimits = {}
            self.children = {}            # pid -> exit signal, of the children forked
            self.vfork_done = None        # a vfork child's pipe to its waiting parent
        self.set_abi(is64)
        self.tid = self.proc.pid
        if creator is None:
            self.proc.threads[self.tid] = self
        self.clear_child_tid = 0
        self.robust_list = (0, 0)
        self.sigmask = 0
        self.own_pending = 0          # thread-directed signals (tkill, faults)
        self.pending = self.proc.shared_pending   # own | the group's, kept current
        self.siginfo = {}             # signo -> siginfo of the thread's pending instance
        self.queued = Queued()        # realtime instances past the first (kernel.sigqueue)
        self.saved_sigmask = None     # set by sigsuspend, restored after the handler
        self.rseq = None              # (address, length, signature) once registered
        self.restart_block = None     # what restart_syscall resumes
        self.altstack = (0, 2, 0)     # sp, flags (SS_DISABLE), size
        self.exit_status = None       # ('exit', code) or ('signal', signo)
        self.exit_thread = False      # sys_exit: only this thread ends
        self.thread = None            # the CPU context (cpu.context.Thread)
        self.host = self.proc.host    # per-thread wake-ups once threaded (kernel.thread)
        self.gate_regs = None         # the gate's pt_regs while switched out
        self.wakeup = False           # a private futex wake or a signal for a sleeper
        self.sleeping = False         # in CpuLock.sleep
        self.cpu_cv = None            # what it waits on for the CPU (kernel.park)
        self.cpu_token = False        # an unpark it has not consumed yet (kernel.cpulock)
        if creator is not None:
            # What copy_process copies of the creating thread: its CPU
            # affinity and its I/O permissions (kernel.ioport).
            for name in ("affinity", "io_bitmap", "iopl_emul"):
                if hasattr(creator, name):
                    setattr(self, name, getattr(creator, name))
        self.killed = False           # its group is ending, or another thread execs
        self.tracee = None            # its ptrace state while traced (kernel.ptrace.tracee)
        self.debugregs = None         # DR0-DR7 once a tracer set them: kept past PTRACE_DETACH
        self.hw_armer = None          # the Tracee whose hooks arm them on the CPU

    def add_pending(self, signo, info=None):
        """A thread-directed signal (tkill, a fault): pending for this
        thread. False when a realtime instance could not be queued."""
        bit = 1 << (signo - 1)
        if signo >= SIGRTMIN and self.own_pending & bit:
            return self.queued.put(signo, info)
        self.own_pending |= bit
        self.pending |= bit
        if info is not None:
            self.siginfo[signo] = info
        return True

    def take_pending(self, signo):
        """Dequeue signo, the thread's own instance first (as dequeue_signal
        looks at the thread's queue before the group's): its siginfo or None.
        A realtime signal with more instances waiting stays pending."""
        bit = 1 << (signo - 1)
        proc = self.proc
        if self.own_pending & bit:
            info, more = self.queued.take(self.siginfo, signo)
            if not more:
                self.own_pending &= ~bit
        else:
            info, more = proc.shared_queued.take(proc.shared_siginfo, signo)
            if not more:
                proc.set_shared(proc.shared_pending & ~bit)
        self.pending = self.own_pending | (self.pending & proc.shared_pending)
        return info

    def raise_signal(self, signo, info=None):
        """Make signo pending for the whole group (a timer fired, ...)."""
        self.proc.raise_signal(signo, info)

    def set_abi(self, is64):
        """The ABI of the system call in progress (Linux's in_compat_syscall):
        a 64-bit program may use the i386 table through INT 0x80."""
        self.is64 = is64
        self.word = 8 if is64 else 4
        self.abi = "x86_64" if is64 else "i386"

    def read_word(self, addr):
        return struct.unpack("<Q" if self.is64 else "<I", self.mm.read(addr, self.word))[0]

    def write_word(self, addr, v):
        self.mm.write(addr, struct.pack("<Q" if self.is64 else "<I",
                                        v & ((1 << (8 * self.word)) - 1)))

    # --- what a handler may ask of the machine it runs on: these accessors,
    # never the Machine or the gate themselves -----------------------------
    @property
    def debugger(self):
        """This thread's tracer's half (kernel.ptrace.tracee: each thread is
        a tracee of its own, as on Linux), or the gdb stub while one is
        attached (sysgate.debug.target), else None."""
        d = self.machine.debug
        if d is not None and d.per_thread:
            return self.tracee
        return d

    @debugger.setter
    def debugger(self, d):
        """ptrace: a traced thread's stops (kernel.ptrace.tracee) hook in
        where the gdb stub does, through the process's machine.debug, which
        hands each stop to the thread that makes it (kernel.ptrace.threads)."""
        if getattr(d, "ptraced", False) or (d is None and self.tracee is not None):
            from .ptrace.threads import set_tracee
            self.machine.debug = set_tracee(self, d, self.machine.debug)
        else:
            self.machine.debug = d

    @property
    def session(self):
        """The pid of the session's first guest process."""
        return self.machine.session

    def running(self):
        """The task whose registers the CPU holds now (a hook on the CPU
        asks on behalf of whichever thread runs)."""
        return self.machine.task

    def random_bytes(self, n):
        """Guest-visible randomness (reproducible under --seed)."""
        return self.machine.random_bytes(n)

    @property
    def pt_regs(self):
        """The pt_regs of the system call in progress (entry.ptregs)."""
        return self.machine.gate.current

    def regs_at_exit(self, cur):
        """cur (the user register file) as the return from the system call
        in progress would leave it."""
        return self.machine.gate._user_regs_at_exit(self.pt_regs, cur)

    def new_thread(self):
        """A task for a new thread of this one's process (clone)."""
        return Task(self.machine, None, None, None, self.is64, creator=self)

    def syscall_tables(self):
        """The two ABI tables the gate dispatches through (/proc/<pid>/mem
        wraps some of their entries), or () before the first exec."""
        gate = self.machine.gate
        return () if gate is None else (gate.table64, gate.table32)

    def before_fork(self):
        """Empty the host-side buffers a forked child would write twice."""
        self.machine.before_fork()

    def after_fork_child(self):
        """In the child of a host fork: the machine becomes the child's."""
        self.machine.after_fork_child()

    def exec_image(self, img, exe, exe_path, execfn, argv, envp, interp=None):
        """Past execve's point of no return: the new image on a fresh CPU
        (Machine.exec_image)."""
        self.machine.exec_image(img, exe, exe_path, execfn, argv, envp, interp)

    def request_exec(self, replace):
        """execve passed its checks: replace() runs once the CPU stops."""
        self.machine.request_exec(replace)
