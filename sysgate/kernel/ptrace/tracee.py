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
arguments (an out-of-range number skips the call and leaves the tracer's
rax as its result); at a syscall-exit stop a new rax, other registers
through the IRET return; elsewhere straight to the CPU."""
import os
import signal as hostsignal

from ..errors import KernelError
from ..sigframe import _fxrestore, _fxsave, siginfo
from . import channel
from .consts import (EVENT_CLONE, EVENT_EXEC, EVENT_EXIT, EVENT_FORK, EVENT_STOP, EVENT_VFORK,
                     O_EXITKILL, O_TRACECLONE, O_TRACEEXEC, O_TRACEEXIT, O_TRACEFORK,
                     O_TRACESYSGOOD, O_TRACEVFORK, SIGKILL, SIGSTOP, SIGTRAP)
from .hwbp import DebugRegs
from .regs import FLAG_MASK, M64, SEGMENTS, USER_REGS, signed

SI_USER, SI_KERNEL, TRAP_TRACE = 0, 0x80, 2
USER_CS, USER_DS = 0x33, 0x2B
EIO, EFAULT = 5, 14
ENOSYS = 38
CLONE_VFORK, CLONE_UNTRACED, CLONE_PTRACE, CLONE_THREAD = 0x4000, 0x00800000, 0x2000, 0x10000
FORKS = {"x86_64": {57: "fork", 58: "vfork", 56: "clone", 435: "clone3"},
         "i386": {2: "fork", 190: "vfork", 120: "clone", 435: "clone3"}}
EXECVE = {"x86_64": (59, 322), "i386": (11, 358)}
ARGS = {"x86_64": ("rdi", "rsi", "rdx", "r10", "r8", "r9"),
        "i386": ("rbx", "rcx", "rdx", "rsi", "rdi", "rbp")}
OPTION_OF = {EVENT_FORK: O_TRACEFORK, EVENT_VFORK: O_TRACEVFORK, EVENT_CLONE: O_TRACECLONE}
MAX_IO = 1 << 16          # bytes one read or write request may move


class Tracee:
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
        self.debugregs = DebugRegs()

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
    def _stop(self, code, view, info=None, kind=None, msg=0, abi=None):
        """Report a ptrace-stop (exit code: a signal, SIGTRAP|0x80, or
        SIGTRAP|event<<8) and serve the tracer until it resumes us.
        Returns the signal it resumed with (None: detached or gone)."""
        if self.sock is None:
            self.sock = channel.connect(self.t.session, self.tracer, self._gone)
            if self.sock is None:
                self.detach()
                return None
        self.view, self.dirty = view, set()
        self.info = info if info is not None else siginfo(SIGTRAP, code, True, pid=self.pid,
                                                          uid=os.getuid())
        abi = abi or ("i386" if view["cs"] & 0xFFFF == 0x23 else "x86_64")
        ok = channel.send(self.sock, {"stop": 0x7F | code << 8, "view": view, "kind": kind,
                                      "msg": msg, "siginfo": self.info.hex(), "abi": abi,
                                      "parent": os.getppid(), "dr": self.debugregs.dr})
        if ok:
            try:
                os.kill(self.tracer, hostsignal.SIGCHLD)   # as do_notify_parent_cldstop
            except OSError:
                pass
        while ok:
            req = channel.recv(self.sock)
            if not req:
                break
            done = self._serve(req)
            if done is not None:
                return done[0]
        # The tracer went away: as Linux's exit_ptrace, EXITKILL kills us,
        # anything else lets us run on untraced.
        if self.options & O_EXITKILL:
            os.kill(os.getpid(), hostsignal.SIGKILL)
        self.detach()
        return None

    def _serve(self, req):
        op = req.get("op")
        reply = {"ok": 1}
        try:
            if op == "resume":
                channel.send(self.sock, reply)
                self.mode = req.get("mode", "cont")
                return (req.get("sig", 0),)
            if op == "detach":
                channel.send(self.sock, reply)
                self.detach()
                return (req.get("sig", 0),)
            if op == "kill":
                os.kill(os.getpid(), hostsignal.SIGKILL)
            if op == "read":
                reply["data"] = self._read(req["addr"], req["n"]).hex()
            elif op == "write":
                self._write(req["addr"], bytes.fromhex(req["data"]))
            elif op == "setregs":
                self._setregs(req["regs"])
            elif op == "setsiginfo":
                self.info = bytes.fromhex(req["data"])
            elif op == "options":
                self.options = req["v"]
            elif op == "debugreg":
                err = self.debugregs.write(req["n"], req["v"])
                if err:
                    reply = {"err": err}
            elif op == "auxv":
                reply["data"] = bytes(self.t.auxv_bytes or b"").hex()
            elif op == "maps":
                from ..fs.procinfo import maps
                text = maps(self.t)
                reply["data"] = (text if isinstance(text, bytes) else text.encode()).hex()
            elif op == "fpregs":
                reply["data"] = _fxsave(self.t.thread.read_fpu()).hex()
            elif op == "setfpregs":
                self.t.thread.write_fpu(_fxrestore(bytes.fromhex(req["data"]), 16))
            else:
                reply = {"err": EIO}
        except KernelError as e:
            reply = {"err": e.errno}
        except (KeyError, TypeError, ValueError):
            reply = {"err": EIO}
        channel.send(self.sock, reply)
        return None

    def _read(self, addr, n):
        """Bytes at addr as far as memory is there (any protection: ptrace
        reads with FOLL_FORCE); EIO when none is."""
        mm = self.task.mm
        n = max(0, min(n, MAX_IO))
        a, end = addr, addr + n
        while a < end:
            v = mm.find(a)
            if v is None or not v.backed:
                break
            a = v.end
        upto = min(a, end)
        if upto <= addr:
            raise KernelError(EIO)
        return self.t.thread.cpu.mem_read(addr, upto - addr)

    def _write(self, addr, data):
        if len(data) > MAX_IO or len(self._read(addr, len(data))) != len(data):
            raise KernelError(EIO)
        self.task.mm.write_kernel(addr, data)
        self.t.thread.cpu.drop_code(addr, len(data))

    def _setregs(self, new):
        v = self.view
        for k, x in new.items():
            if k not in v:
                continue
            x = int(x) & M64
            if k in SEGMENTS and x & 0xFFFF != v[k] & 0xFFFF:
                # set_segment_reg: a user selector (RPL 3) or null; cs and ss never null.
                if x > 0xFFFF or (x and x & 3 != 3) or (not x and k in ("cs", "ss")):
                    raise KernelError(EIO)
            if k == "eflags":
                x = (v[k] & ~FLAG_MASK) | (x & FLAG_MASK)
            if x != v[k]:
                v[k] = x
                self.dirty.add(k)

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
        for seg in sorted(self.dirty & SEGMENTS):
            try:
                self.t.thread.write_regs({seg: self.view[seg]})
            except Exception:
                # A selector whose descriptor cannot be loaded: Linux's
                # return to user mode loads the null selector instead.
                self.t.thread.write_regs({seg: 0})
        for seg in ("fs", "gs"):
            if seg + "_base" in self.dirty:
                self.t.thread.set_base(seg, self.view[seg + "_base"])

    def _code(self, event=0):
        if event:
            return SIGTRAP | event << 8
        return SIGTRAP | (0x80 if self.options & O_TRACESYSGOOD else 0)

    # --- system calls ----------------------------------------------------------
    def syscall_stop(self, gate, regs, entry):
        if not self._active(None if entry else regs):
            return
        if entry:
            self._skip = None
            mode = self.mode
            if mode not in ("syscall", "sysemu"):
                return
            view = self._view(self.t.regs_at_exit(self.t.thread.read_regs()),
                              regs.orig_ax)
            sig = self._stop(self._code(), view, kind="entry", msg=1, abi=regs.abi)
            if sig is None:
                return
            self._apply_entry(gate, regs, mode == "sysemu")
            self._resumed(sig)
            return
        if self._skip is not None:
            # A skipped call returns what the tracer left in rax, with the
            # registers it changed (SYSEMU's restart moves rip back).
            (regs.ax, regs.orig_ax, full), self._skip = self._skip, None
            if full:
                full["rax"] = regs.ax & M64
                regs.full = full
            if self.mode == "sysemu":
                return          # SYSEMU: no exit stop
        self._fork_event(gate, regs)
        if regs.orig_ax in EXECVE[regs.abi] and regs.ax == 0:
            self._exec_exit = (regs.orig_ax, regs.abi)   # reported from the new program
            return
        if self.mode != "syscall" or self.t.debugger is not self:
            return
        view = self._view(self.t.regs_at_exit(self.t.thread.read_regs()),
                          regs.orig_ax)
        sig = self._stop(self._code(), view, kind="exit", msg=2, abi=regs.abi)
        if sig is None:
            return
        self._apply_exit(regs)
        self._resumed(sig)

    def _apply_entry(self, gate, regs, emulated):
        v, d = self.view, self.dirty
        if not d and not emulated:
            return
        bits = 64 if regs.abi == "x86_64" else 32
        regs.args = tuple(v[n] for n in ARGS[regs.abi])
        nr = signed(v["orig_rax"], bits)
        table = gate.table64 if regs.abi == "x86_64" else gate.table32
        if emulated or not 0 <= nr < len(table):
            # Skipped (SYSEMU, or a number past the table): rax is what the
            # tracer left; -1 makes the dispatch a no-op.
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
        if event is None or flags & CLONE_THREAD:
            return
        if not self.options & OPTION_OF[event]:
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

    def _forked(self, regs):
        """First call in a child this tracee forked: it is traced from
        birth when its parent's options asked for it (or CLONE_PTRACE),
        and starts with SIGSTOP pending, as ptrace_init_task leaves it."""
        if self.sock is not None:
            self.sock.close()       # the parent's connection; ours is made at our first stop
            self.sock = None
        self.pid = os.getpid()
        kind = FORKS[regs.abi].get(regs.orig_ax) if regs is not None else None
        event, flags = self._fork_kind(kind, regs) if kind else (None, 0)
        traced = event is not None and not flags & CLONE_UNTRACED and (
            flags & CLONE_PTRACE or self.options & OPTION_OF[event])
        if not traced:
            self.t.debugger = None
            return False
        self.mode = "cont"
        self._exec_exit = self._skip = None
        self._step_ran = False
        self._reported = None
        self._queue(SIGSTOP, siginfo(SIGSTOP, SI_USER, True))
        return True

    # --- signals -------------------------------------------------------------
    def signal_pick(self, t, signo):
        """signo is the next pending signal: a signal-delivery-stop, before
        a system call it interrupted decides on a restart. Returns the signal
        to deliver now (0: none)."""
        if not self._active():
            return signo
        if self._reported == signo:
            return signo
        cur = t.pt_regs
        base = None
        orig = -1
        if cur is not None and cur.exit_path is None:
            base = t.regs_at_exit(t.thread.read_regs())
            orig = cur.orig_ax
        while signo:
            if signo == SIGKILL or self.t.debugger is not self:
                return signo
            info = t.siginfo.get(signo) or t.proc.shared_siginfo.get(signo) or siginfo(
                signo, SI_USER, True)
            new = self._signal_report(t, signo, self._view(base, orig), info)
            if new == signo:
                self._reported = signo
                if self.info != info:       # PTRACE_SETSIGINFO changed it
                    own = t.own_pending & 1 << (signo - 1)
                    (t.siginfo if own else t.proc.shared_siginfo)[signo] = self.info
                return signo
            t.take_pending(signo)
            if new:
                self._queue(new, self.info if self.info[:4] == new.to_bytes(4, "little")
                            else siginfo(new, SI_USER, True, pid=self.tracer))
                self._reported = new
                return new
            ready = t.pending & ~(t.sigmask & ~((1 << 8) | (1 << 18)))
            signo = (ready & -ready).bit_length()
        return 0

    def signal_stop(self, t, signo, regs, info):
        """A signal about to be delivered to user code stopped with regs (a
        fault, or one signal_pick let through)."""
        if self._reported == signo:
            self._reported = None
            return signo, info
        if signo == SIGKILL or not self._active():
            return signo, info
        new = self._signal_report(t, signo, self._view(regs), info or siginfo(
            signo, SI_KERNEL, True))
        for k in self.dirty:        # the delivery goes on from the tracer's registers
            if k in regs:
                regs[k] = self.view[k]
        if new != signo:
            bit = 1 << (signo - 1)
            if t.pending & bit:
                t.take_pending(signo)
            info = None if not new else siginfo(new, SI_USER, True, pid=self.tracer)
        elif self.info is not None:
            info = self.info
        return new, info

    def _signal_report(self, t, signo, view, info):
        sig = self._stop(signo, view, info=info)
        if sig is None:
            return signo          # detached: the signal goes on
        self._apply_cpu()
        if self.mode == "step":
            self.t.thread.cpu.stop()
        return sig

    # --- the run loop ----------------------------------------------------------
    def before_run(self, pc):
        if not self._active():
            return pc
        cpu = self.t.thread.cpu
        if cpu is not self._cpu:
            self._cpu = cpu
            self.debugregs.reset()
            self._after_exec()
            if self.t.debugger is not self:
                return self.t.thread.read_regs()["rip"]
        if self._step_ran:
            self._step_ran = False
            sig = self._stop(SIGTRAP, self._view(), info=siginfo(SIGTRAP, TRAP_TRACE, True))
            if sig is not None:
                self._apply_cpu()
                self._inject(sig)
        pc = self.t.thread.read_regs()["rip"]
        if self.mode == "step" and self.t.debugger is self:
            cpu.step_next()
            self._step_ran = True
        return pc

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
            sig = self._stop(self._code(EVENT_EXEC), self._view(), msg=self.pid)
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

    def exited(self, status):
        """The process ends: PTRACE_EVENT_EXIT, and its status for a tracer
        that is not its parent (the host tells the parent)."""
        if not self._active():
            return
        wstatus = (status[1] & 0xFF) << 8 if status[0] == "exit" else status[1] & 0x7F
        if self.options & O_TRACEEXIT:
            self._stop(self._code(EVENT_EXIT), self._view(), msg=wstatus)
        if self.sock is not None and self.tracer != os.getppid():
            channel.send(self.sock, {"exit": wstatus})
        self.detach()


def group_stop_code(signo):
    """The exit code of a PTRACE_SEIZE group-stop (PTRACE_EVENT_STOP)."""
    return signo | EVENT_STOP << 8
