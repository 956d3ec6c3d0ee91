"""Machine: a CPU model plus a kernel; loads a program and runs it.

The run loop is a small state machine: run user code until the CPU stops
(a gate ended the guest, or user code faulted), then report how it ended.
"""
import os
import random
import sys
import threading

from .cpu.engine import Engine, GuestFault, REG
from .cpu.models import MODELS
from .entry.gate import Gate, SIGBUS, SIGFPE, SIGILL, SIGSEGV
from .entry.syscall import TASK_SIZE_MAX
from .kernel.errors import KernelError
from .kernel.sigframe import siginfo
from .kernel.signal import GuestSignal, SI_KERNEL, deliver, deliverable, inherit_signal_state
from .kernel.fs.fdtable import FdTable
from .kernel.fs.path import FsContext
from .kernel.fs.procspool import publish as publish_guest_view
from .kernel.mm import AddressSpace, PROT_READ, PROT_WRITE, PROT_EXEC, set_memory_limit
from .kernel.task import Task
from .kernel.thread import ThreadKilled
from .kernel.hostsig import HostSignals, die_by_signal
from .loader import elf, stack
from .loader.image import (STACK_SIZE, Fatal, Limits, Loader, choose_layout, load_interp,
                           load_program, page_up)
from .loader.vdso import map_vdso
from .kernel.time import TimeKeeper
from .trace.events import Crossing, EventStream, ExitEvent
from .trace.decode import decode_args
from . import handlers  # noqa: F401  (registers every system call)


SIGKILL_NO = 9
SEGV_MAPERR, SEGV_ACCERR, ILL_ILLOPN, FPE_INTDIV, BUS_ADRERR = 1, 2, 2, 1, 2


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


USER_REGS = ("rax rbx rcx rdx rsi rdi rbp rsp r8 r9 r10 r11 r12 r13 r14 r15 "
             "rip eflags cs ss ds es fs gs").split()
SEGMENTS = ("cs", "ss", "ds", "es", "fs", "gs")
# Unicorn's reg_write sets only the selector of these in 64-bit mode.
CACHED_SEGMENTS = ("cs", "ss", "ds", "es")
TLS_MIN = 12


class Thread:
    """What the kernel may see and change of the CPU beyond pt_regs: the
    whole user register file (for signal frames and sigreturn), FPU state,
    segment bases and the TLS descriptors of the GDT. Each guest thread has
    one; while its thread is switched out the CPU context is kept here
    (save/load), with its own three TLS descriptors."""

    def __init__(self, machine, cpu):
        self.machine = machine
        self.cpu = cpu
        self._all = cpu.batch(USER_REGS)
        self.ctx = None             # the Unicorn context while switched out
        self.tls = None             # its GDT TLS entries, once it has its own
        self.first = None           # registers a new thread starts with

    def read_regs(self):
        vals = self._all.read()
        regs = dict(zip(USER_REGS, vals))
        for seg in SEGMENTS:
            regs[seg] &= 0xFFFF
        return regs

    def write_regs(self, regs):
        """Write back a register file; segment registers only where they
        change, since loading one reloads its descriptor."""
        cur = None
        out = []
        loads = {}
        for name, value in regs.items():
            if name in SEGMENTS:
                cur = cur or self.read_regs()
                if cur[name] == value & 0xFFFF:
                    continue
                if name in CACHED_SEGMENTS:
                    loads[name] = value & 0xFFFF
                    continue
            out.append((REG[name], value & ((1 << 64) - 1)))
        if loads:
            from .kernel.ldt import load_segments
            load_segments(self, loads)
        self.cpu.reg_write_batch(out)

    def user_sp(self):
        return self.cpu.reg_read(REG["rsp"])

    def read_fpu(self):
        return self.cpu.read_fpu(16)

    def write_fpu(self, fpu):
        self.cpu.write_fpu(fpu)

    def set_frame(self, regs):
        """sigreturn: the call in progress returns to these registers."""
        self.machine.gate.current.full = regs

    def set_base(self, seg, value):
        if self.first is not None:
            self.first[seg + "_base"] = value
        else:
            self.cpu.reg_write(REG[seg + "_base"], value)

    def get_base(self, seg):
        return self.cpu.reg_read(REG[seg + "_base"])

    def write_gdt(self, index, raw):
        if self.tls is not None and TLS_MIN <= index < TLS_MIN + 3:
            self.tls[index - TLS_MIN] = bytes(raw)
            if self.first is not None:
                return          # a new thread: its entries go in when it first runs
        self.cpu.write_gdt_entry(index, raw)

    def read_gdt(self, index):
        if self.tls is not None and TLS_MIN <= index < TLS_MIN + 3:
            return self.tls[index - TLS_MIN]
        return self.cpu.read_gdt_entry(index)

    # --- switching threads ---------------------------------------------
    def save(self):
        if self.ctx is None:
            self.ctx = self.cpu.context_save()
        else:
            self.cpu.context_update(self.ctx)
        self.skip_step = self.cpu.take_skip_step()

    def load(self):
        cpu = self.cpu
        cpu.context_restore(self.ctx)
        cpu.set_skip_step(getattr(self, "skip_step", None))
        if self.tls is not None:
            for i, raw in enumerate(self.tls):
                cpu.write_gdt_entry(TLS_MIN + i, raw)
        if self.first is not None:
            first, self.first = self.first, None
            segs = {k: first.pop(k) for k in ("fs", "gs") if k in first}
            if first.get("cs") != 0x23:
                segs = {}       # 64-bit: the selectors are the parent's, bases set below
            bases = [(REG[k], first.pop(k)) for k in ("fs_base", "gs_base") if k in first]
            self.write_regs(first)
            for k, v in segs.items():
                cpu.reg_write(REG[k], v)        # reload: its descriptor may be new
            if bases:
                cpu.reg_write_batch(bases)

    def spawn(self, regs):
        """The Thread of a new thread: this one's CPU context and TLS, with
        regs (its registers on return from clone) put in when it first runs."""
        child = Thread(self.machine, self.cpu)
        child.ctx = self.cpu.context_save()
        if self.tls is None:
            self.tls = [self.cpu.read_gdt_entry(TLS_MIN + i) for i in range(3)]
        child.tls = list(self.tls)
        child.first = dict(regs)
        return child


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
            cpu.stop_async()        # exactly at the next block (see cpu.engine)
        if lock is not None:
            lock.poke_sleepers()
            for o in list(task.proc.threads.values()):
                kick = getattr(o.host, "kick", None)
                if kick is not None:
                    kick()

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
        self.thread = task.thread = Thread(self, self.cpu)
        task.exe_path = exe_path
        name = execfn.encode(errors="surrogateescape") if isinstance(execfn, str) else execfn
        task.comm = name.rsplit(b"/", 1)[-1][:15]     # as exec names the task
        self.gate = Gate(self)
        self.cpu.gate = self.gate
        self.vdso = None
        task.vdso_symbols = None
        argv = [a if isinstance(a, bytes) else os.fsencode(a) for a in argv]
        task.argv, task.envp = argv, envp
        try:
            entry, sp = self._map_images(img, exe, interp, layout, execfn, argv, envp)
        except (Fatal, KernelError, OSError) as e:
            raise GuestSignal(SIGSEGV, f"exec failed past its point of no return: {e}") from None
        finally:
            exe.close()
            if interp is not None:
                interp[1].close()
        if self.vdso is not None:
            self.gate.landing_pad = self.vdso.landing_pad
            if not img.is64 and mm.read(self.vdso.landing_pad - 4, 2) == b"\x0f\x34":
                sysenter_at = self.vdso.landing_pad - 4
                self.gate.sysenter_window = (self.vdso.vsyscall, sysenter_at)
        self.cpu.boot(entry, sp, compat=not img.is64)
        self.entry = entry
        publish_guest_view(self)     # what the session's other guests see in /proc/<pid>
        if trace is not None:
            self.enable_tracing(self._strsize)

    def _map_images(self, img, exe, interp, layout, execfn, argv, envp):
        """load_elf_binary from setup_arg_pages on: segments, interpreter,
        brk, stack, vDSO, initial stack image. Returns (entry, sp)."""
        task, mm = self.task, self.task.mm
        loader = Loader(mm, Limits.host(img.is64), img.read_implies_exec)
        mm.read_implies_exec = loader.rie
        loaded = load_program(loader, img, exe.exec_file(), layout, interp is not None)
        entry, interp_base = loaded.entry, 0
        if interp is not None:
            iimg, ifile = interp
            interp_base = load_interp(loader, iimg, ifile.exec_file(), loaded.bias)
            entry = (interp_base + iimg.entry) & ((1 << 64) - 1)
        loader.check_start(entry, layout.stack_top)
        # A loader run directly has its brk moved out of the mmap area.
        brk = layout.load_bias if img.pie and interp is None else page_up(loaded.brk)
        mm.brk_start = mm.brk_cur = brk + layout.brk_offset
        exec_stack = img.exec_stack or (img.exec_stack is None and loader.rie)
        stack_prot = PROT_READ | PROT_WRITE | (PROT_EXEC if exec_stack else 0)
        mm.map(layout.stack_top - STACK_SIZE, STACK_SIZE, stack_prot, name="[stack]")
        if self.use_vdso:
            self.vdso = map_vdso(mm, img.is64, self.model.fast_compat_gate())
            task.vdso_symbols = self.vdso.symbols
            task.timekeeper = TimeKeeper(
                lambda page: mm.write_kernel(self.vdso.vvar, page), getcpu=0)
        else:
            task.timekeeper = TimeKeeper()
        auxv = self._auxv(img, loaded, interp_base)
        sp, image, where = stack.build(
            layout.stack_top - layout.sp_offset, argv, envp, auxv,
            execfn=execfn, platform=b"x86_64" if img.is64 else b"i686",
            random16=self.random_bytes(16), is64=img.is64)
        mm.write_kernel(sp, image)
        task.auxv_bytes = b"".join(
            k.to_bytes(task.word, "little") + v.to_bytes(task.word, "little")
            for k, v in where["auxv_items"])
        return entry, sp

    def _guest_exe_path(self, fsctx, path):
        real = os.path.realpath(path)
        if not fsctx.confined:
            return real
        root = fsctx.root_host
        if real.startswith(root.rstrip("/") + "/"):
            return real[len(root.rstrip("/")):]
        return "/" + os.path.basename(real)

    def _auxv(self, img, plan, interp_base):
        return [(k, v & ((1 << (64 if img.is64 else 32)) - 1))      # elf_addr_t
                for k, v in self._auxv_items(img, plan, interp_base)]

    def _auxv_items(self, img, plan, interp_base):
        hwcap = self.model.make_cpuid()(1, 0, not img.is64)[3]
        A = stack
        vdso = []
        if self.vdso is not None:
            if not img.is64:
                vdso.append((A.AT_SYSINFO, self.vdso.vsyscall))
            vdso.append((A.AT_SYSINFO_EHDR, self.vdso.base))
        return vdso + [
            (A.AT_MINSIGSTKSZ, 2048), (A.AT_HWCAP, hwcap), (A.AT_PAGESZ, 4096),
            (A.AT_CLKTCK, 100), (A.AT_PHDR, plan.phdr),
            (A.AT_PHENT, img.phentsize), (A.AT_PHNUM, img.phnum), (A.AT_BASE, interp_base),
            (A.AT_FLAGS, 0), (A.AT_ENTRY, plan.entry), (A.AT_UID, os.getuid()),
            (A.AT_EUID, os.geteuid()), (A.AT_GID, os.getgid()), (A.AT_EGID, os.getegid()),
            (A.AT_SECURE, 0), (A.AT_RANDOM, 0), (A.AT_HWCAP2, 0), (A.AT_EXECFN, 0),
            (A.AT_PLATFORM, 0),
        ]

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
        gate, mm = self.gate, self.task.mm
        tables = {"x86_64": gate.table64, "i386": gate.table32}
        from .kernel.registry import names
        unknown = {abi: names(abi) for abi in tables}

        def on_crossing(regs):
            result = regs.retval if regs.retval is not None else regs.ax
            table = tables[regs.abi]
            entry = table[regs.orig_ax] if 0 <= regs.orig_ax < len(table) else None
            if entry is None:
                name = unknown[regs.abi].get(regs.orig_ax, f"syscall_{regs.orig_ax:#x}")
                text = [hex(a) for a in regs.args]
                args = regs.args
            else:
                name, kinds = entry.name, entry.call.kinds
                args = tuple(c(a) for c, a in zip(entry.convert, regs.args))
                text = decode_args(name, kinds, args, result, mm, strsize, regs.abi == "x86_64")
            self.events.emit(Crossing(regs.gate, regs.abi, regs.orig_ax, name, args,
                                      result, regs.exit_path, text,
                                      getattr(regs, "seconds", 0.0)))
            while self._deferred:
                self.events.emit(self._deferred.pop(0))
        gate.trace = on_crossing
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

    def raise_fault(self, signo, why, ip=None, trapno=0, err=0, code=None, addr=None):
        """An exception the gate saw (INT n, #UD of a missing gate, ...):
        handled by the run loop once the CPU has stopped. code and addr
        default to what Linux's trap handlers report for signo."""
        self.fault = (signo, why, ip, trapno, err, code, addr)
        self.cpu.stop()

    def _fault_signal(self, f):
        """(signo, code, si_addr, trap, why) for a GuestFault, as Linux's
        page-fault and #UD handlers report them; None when the page fault
        was the kernel's own business and the instruction runs again (a
        file page the file has grown to cover, a vfork child's store)."""
        if f.kind == "ill":
            return SIGILL, ILL_ILLOPN, f.addr, (6, 0, 0), "invalid opcode"
        if f.mapped and f.kind == "write" and self.task.mm.note_write(f.addr):
            return None         # a vfork child's first store to a page
        past_eof = None if f.mapped else self.task.mm.fault_in(f.addr, f.kind)
        if past_eof:
            return None
        # Error code: user access, write, instruction fetch, and P, which
        # Linux sets for any address from TASK_SIZE_MAX up so as not to tell
        # user space which kernel pages exist (sanitize_error_code).
        present = f.mapped or f.addr >= TASK_SIZE_MAX
        err = 4 | (1 if present else 0) | (2 if f.kind == "write" else 0) \
            | (16 if f.kind == "exec" else 0)
        trap = (14, err, f.addr)
        if past_eof is False:
            return SIGBUS, BUS_ADRERR, f.addr, trap, f"{f.kind} past end of file at {f.addr:#x}"
        # A mapping whose pages are not there yet (reserved, or past the
        # end of its file) still makes it an access error.
        code = SEGV_ACCERR if f.mapped or self.task.mm.find(f.addr) else SEGV_MAPERR
        return SIGSEGV, code, f.addr, trap, f"{f.kind} fault at {f.addr:#x}"

    def _deliver_fault(self, signo, code, addr, trap, ip=None):
        regs = self.thread.read_regs()
        if ip is not None:
            regs["rip"] = ip
        info = siginfo(signo, code, True, addr=addr)
        if not self._deliver(signo, regs, info, trap, forced=True) and ip is not None:
            self.thread.write_regs({"rip": ip})

    def _deliver(self, signo, regs, *args, **kw):
        """Deliver signo to user code stopped with regs; True if a handler's
        frame now holds the CPU."""
        new = deliver(self.task, signo, regs, self.thread.read_fpu(), *args, **kw)
        if new is not None:
            self.thread.write_regs(new)
        return new is not None

    def _interrupt_return(self):
        """The return from an interrupt (a timer, a host signal): deliver
        what became pending."""
        task = self.task
        task.timers.expire()
        # Every pending signal, as Linux's exit loop: a fatal one behind a
        # handled one (SIGTERM behind a timer's SIGALRM) still ends the
        # program now. Each delivery clears its signal or blocks it.
        signo = deliverable(task)
        while signo:
            self._deliver(signo, self.thread.read_regs())
            signo = deliverable(task)

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
        self.fault = None
        while t.exit_status is None and proc.group_exit is None:
            timers = t.timers
            cpu = self.cpu
            # A thread stops user code at the next timer's deadline, so the
            # signal arrives mid-computation as a timer interrupt's would.
            timers.wake = self.hostsig.deadlines.watch
            lock = proc.cpu_sched
            try:
                armed = timers.deadline is not None
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
                        self._interrupt_return()
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
                if (armed or self.hostsig.pending or t.pending) and self.fault is None \
                        and t.exit_status is None and proc.group_exit is None:
                    self._interrupt_return()
                if self.fault is not None:
                    signo, why, ip, trapno, err, code, addr = self.fault
                    self.fault = None
                    if code is None:
                        code = {SIGILL: ILL_ILLOPN, SIGFPE: FPE_INTDIV}.get(signo, SI_KERNEL)
                    if addr is None:
                        addr = 0 if code == SI_KERNEL else (
                            ip if ip is not None else self.cpu.reg_read(REG["rip"]))
                    self._deliver_fault(signo, code, addr, (trapno, err, 0), ip)
            except GuestFault as f:
                fault = self._fault_signal(f)
                if fault is None:
                    pc = self.cpu.reg_read(REG["rip"])
                    continue            # the page is there now: the instruction again
                signo, code, addr, trap, why = fault
                try:
                    self._deliver_fault(signo, code, addr, trap)
                except GuestSignal as s:
                    self._die(t, ("signal", s.signo, why))
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

