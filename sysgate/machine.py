"""Machine: a CPU model plus a kernel; loads a program and runs it.

The run loop is a small state machine: run user code until the CPU stops
(a gate ended the guest, or user code faulted), then report how it ended.
"""
import os
import random

from .cpu.engine import Engine, GuestFault, REG
from .cpu.models import MODELS
from .entry.gate import Gate, SIGBUS, SIGFPE, SIGILL, SIGSEGV
from .entry.syscall import TASK_SIZE_MAX
from .kernel.errors import KernelError
from .kernel.sigframe import siginfo
from .kernel.sched import now_ns
from .kernel.signal import GuestSignal, SI_KERNEL, deliver, deliverable, inherit_signal_state
from .kernel.fs.fdtable import FdTable
from .kernel.fs.path import FsContext
from .kernel.mm import AddressSpace, PROT_READ, PROT_WRITE, PROT_EXEC
from .kernel.task import Task
from .kernel.hostsig import HostSignals, die_by_signal
from .loader import elf, stack
from .loader.image import (STACK_SIZE, Fatal, Limits, Loader, choose_layout, load_interp,
                           load_program, page_up)
from .loader.vdso import map_vdso
from .kernel.time import TimeKeeper
from .trace.events import Crossing, EventStream, ExitEvent
from .trace.decode import decode_args
from . import handlers  # noqa: F401  (registers every system call)


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


class Thread:
    """What the kernel may see and change of the CPU beyond pt_regs: the
    whole user register file (for signal frames and sigreturn), FPU state,
    segment bases and the TLS descriptors of the GDT."""

    def __init__(self, machine, cpu):
        self.machine = machine
        self.cpu = cpu
        self._all = cpu.batch(USER_REGS)

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
        for name, value in regs.items():
            if name in SEGMENTS:
                cur = cur or self.read_regs()
                if cur[name] == value & 0xFFFF:
                    continue
            out.append((REG[name], value & ((1 << 64) - 1)))
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
        self.cpu.reg_write(REG[seg + "_base"], value)

    def get_base(self, seg):
        return self.cpu.reg_read(REG[seg + "_base"])

    def write_gdt(self, index, raw):
        self.cpu.write_gdt_entry(index, raw)

    def read_gdt(self, index):
        return self.cpu.read_gdt_entry(index)


class Machine:
    def __init__(self, cpu="intel", root=None, seed=None, vdso=True):
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
        self._strsize = 32

    # --- processes --------------------------------------------------------
    def before_fork(self):
        """Empty the host-side buffers a forked child would write twice."""
        _flush_stdio()
        self.events.flush()

    def after_fork_child(self):
        from .kernel.sched import Timers
        task = self.task
        self.forked = True
        self.hostsig.after_fork()
        task.pid = task.tid = os.getpid()
        task.pending, task.siginfo = 0, {}
        task.timers = Timers(task)      # interval timers and alarms are not inherited
        task.children = {}
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
        """Stop user code from the host-signal thread."""
        self.cpu.async_stopped = True
        self.cpu.stop()

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
        try:
            self.exec_image(img, f, exe, execfn, argv, envp, interp)
        except GuestSignal as s:
            self.status, self.entry = ("signal", s.signo, s.why), None
        return task

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
        past_eof = None if f.mapped else self.task.mm.fault_in(f.addr)
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
        code = SEGV_ACCERR if f.mapped else SEGV_MAPERR
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
        signo = deliverable(task)
        if signo:
            self._deliver(signo, self.thread.read_regs())

    def run(self):
        """Run the loaded program to its end: ('exit', code) or
        ('signal', signo, why). In a forked child the host process ends
        here, as the guest process did."""
        self.hostsig.start()
        try:
            status = self._run()
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
        die_by_signal(status[1])

    def _run(self):
        pc = self.entry
        self.fault = None
        watching = False

        def check_deadline():
            dl = self.task.timers.deadline
            if dl is not None and now_ns() >= dl:
                self.cpu.stop()
        while self.status is None:
            timers = self.task.timers
            timers.wake = self.cpu.stop     # a timer was armed: re-plan outside the CPU
            try:
                # With a timer armed, user code stops at each block once the
                # deadline has passed, so the signal arrives mid-computation
                # as a timer interrupt's would.
                armed = timers.deadline is not None
                if armed != watching:
                    self.cpu.watch_blocks(check_deadline if armed else None)
                    watching = armed
                self.cpu.run(pc)
                if self.pending_exec is not None:
                    self.pending_exec, new = None, self.pending_exec
                    new()
                    pc, watching = self.entry, False
                    continue
                if self.cpu.async_stopped:
                    self.cpu.async_stopped = False
                    self.gate.repair_async_stop()
                self.task.timekeeper.refresh()
                if (armed or self.hostsig.pending) and self.fault is None and self.status is None:
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
                    self.status = ("signal", s.signo, why)
            except GuestSignal as s:
                self.status = ("signal", s.signo, s.why)
            if self.status is None:
                pc = self.cpu.reg_read(REG["rip"])
        self.task.files.close_all()
        if self.events:
            self.events.emit(ExitEvent(self.status))
        return self.status
