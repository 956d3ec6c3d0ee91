"""What every system-call gate shares (Linux's entry/common.c): the table
dispatch that stores the result in one place, and the way out.

A gate module (syscall64, int80, fast32, vsyscall) reads its registers
into pt_regs by its own convention and calls do_syscall, which dispatches,
runs the exit work when any is pending (entry.exit), then the gate's own
return (its `leave`: SYSRET/SYSEXIT when its checks pass, else IRET), then
emits the trace event. Nothing after the dispatch knows which gate was
taken except `leave` and the trace.
"""
from time import perf_counter

from ..abi.consts import ENOSYS, EPIPE, SIGPIPE
from ..kernel.errors import KernelError
from ..kernel.registry import HANDLERS, Entry, build_table
from ..kernel.sched import now_ns
from ..kernel.signal import GuestSignal
from ..kernel.task import ExitGroup
from .exit import ERESTART_MAX, ERESTART_MIN, MASK64, exit_to_user_mode_loop
from .syscall import X86_EFLAGS_TF

_RESTART_LO, _RESTART_HI = -ERESTART_MAX, -ERESTART_MIN     # a restart code in ax


class Dispatcher:
    """The two ABI tables, built from the registry once per host process;
    each Dispatcher (each exec) gets its own entries, which a caller may
    rewrite (Machine.replace_handler), made from that copy in a fraction of
    a build."""
    _built = {}
    _spare = None       # (len(HANDLERS), tables) made before a fork (prepare)

    def __init__(self):
        spare, Dispatcher._spare = Dispatcher._spare, None
        if spare is None or spare[0] != len(HANDLERS):
            spare = self._copy()
        self.tables = spare[1]

    @classmethod
    def prepare(cls):
        """A copy made now for the next Dispatcher: before a fork, so that
        the child's exec takes it (program.prepare_exec)."""
        if cls._spare is None or cls._spare[0] != len(HANDLERS):
            cls._spare = cls._copy()

    @classmethod
    def _copy(cls):
        return len(HANDLERS), {abi: cls._table(abi) for abi in ("x86_64", "i386")}

    @classmethod
    def _table(cls, abi):
        key = (abi, len(HANDLERS))      # a handler registered since: build again
        built = cls._built.get(key)
        if built is None:
            built = cls._built[key] = build_table(abi)
        return [e if e is None else Entry(e.nr, e.name, e.call, e.convert, e.call.call)
                for e in built]


def do_syscall(gate, regs, table, is64, leave, plain, nr, args):
    """One system call, from pt_regs taken at entry to the return
    instruction. table None: the entry itself failed (regs.ax holds its
    error), nothing is dispatched and there is no exit work. leave(gate,
    regs) makes the return; it answers True when there is none (a fault
    instead), and then no crossing is traced. plain: nothing observes the
    call (no gdb stub or tracer, no trace), as the gate found at entry;
    nr, args: regs.orig_ax and regs.args."""
    gate.const_count[0] = 0         # see entry.syscall64
    if table is not None:
        task = gate.task
        if task.is64 is not is64:
            task.set_abi(is64)
        gate.current = regs
        try:
            if plain:
                # invoke, inline: a frame less on every call
                entry = table[nr] if 0 <= nr < len(table) else None
                if entry is None:
                    ax = -ENOSYS
                else:
                    try:
                        run = entry.run
                        ax = entry.fn(task) if run is None else run(entry, task, args)
                    except (KernelError, OSError) as e:
                        ax = failed(task, e)
                regs.ax = ax
            else:
                ax = _observed(gate, gate.machine.debug, task, table, regs)
            if task.pending or task.host.pending or _RESTART_LO <= ax <= _RESTART_HI or (
                    task.timers.deadline is not None and now_ns() >= task.timers.deadline):
                exit_work(gate, task, regs)
        except ExitGroup as e:
            return ended(gate, regs, ("exit", e.status))
        except GuestSignal as s:
            return ended(gate, regs, ("signal", s.signo, s.why))
    if leave(gate, regs):
        return
    if gate.trace is not None:
        _emit(gate, regs)


def _observed(gate, debug, task, table, regs):
    """The dispatch with its observers: the debugger's stops at entry and
    exit, the trace's clock and the handler's own result."""
    if debug is not None:
        debug.syscall_stop(gate, regs, True)
    if gate.trace is None:
        regs.ax = invoke(task, table, regs.orig_ax, regs.args)
    else:
        t0 = perf_counter()
        regs.ax = invoke(task, table, regs.orig_ax, regs.args)
        regs.seconds = perf_counter() - t0
        regs.retval = regs.ax     # before a restart rewrites ax
    if debug is not None:
        debug.syscall_stop(gate, regs, False)
    return regs.ax


def invoke(task, table, nr, args):
    """Run system call nr with raw register arguments; return the value for
    the result register (a negative errno on failure). With do_syscall's
    copy of it, the only place a handler's KernelError or a host OSError
    becomes -errno."""
    entry = table[nr] if 0 <= nr < len(table) else None
    if entry is None:
        return -ENOSYS
    try:
        run = entry.run
        if run is None:
            return entry.fn(task)
        return run(entry, task, args)
    except (KernelError, OSError) as e:
        return failed(task, e)


def failed(task, e):
    """The result register for a handler's KernelError or a host OSError:
    -errno (and SIGPIPE with EPIPE)."""
    if isinstance(e, KernelError):
        if e.errno == EPIPE and not e.quiet:
            _broken_pipe(task)
        return -e.errno
    if e.errno == EPIPE:
        _broken_pipe(task)
    return -(e.errno or 5)


def exit_work(gate, task, regs):
    """The work on the way out (a signal, a restart code, a timer due):
    in the run loop when the call ran in the hook of a process with
    threads (entry.threaded), else here."""
    if gate.in_hook:
        gate.cpu.stop()     # the run loop delivers (entry.threaded)
    else:
        exit_to_user_mode_loop(task, regs)


def ended(gate, regs, status):
    """A call that never returns (exit_group, a fatal signal) is still one
    crossing; strace prints it with '= ?'."""
    regs.ax = None
    regs.exit_path = "none"
    if gate.trace is not None:
        _emit(gate, regs)
    gate.machine.finish(status)


def _emit(gate, regs):
    """The crossing, to the trace (the one place that emits it)."""
    gate.trace(regs)


def _broken_pipe(task):
    """A write that found no reader: Linux sends the writer SIGPIPE along
    with EPIPE (pipe_write, sock_sendmsg without MSG_NOSIGNAL), as
    send_sig(SIGPIPE, current, 0) does: SI_USER from itself. (The host
    process ignores SIGPIPE, so the host only gave the EPIPE.)"""
    from ..kernel.signal import send_self
    send_self(task, SIGPIPE, code=0)


# --- helpers of the gates' returns ---------------------------------------------
def iret(gate, regs, insn_hook):
    """Return through IRET to a rewritten frame (regs.full). insn_hook: the
    gate is an instruction hook (SYSCALL, SYSENTER), after which Unicorn
    adds the instruction's length to RIP."""
    full = dict(regs.full or {})
    full.setdefault("rax", regs.ax & MASK64)
    if "rip" in full and insn_hook:
        full["rip"] -= 2
    gate.task.thread.write_regs(full)


def single_step_after(gate, regs, ip, flags):
    """A return through IRET with TF set traps after the first user
    instruction, as the CPU cleared TF on the way in (SYSCALL's FMASK;
    Linux's SYSENTER entry). QEMU instead re-checks TF as soon as the
    SYSCALL or SYSENTER instruction is done and would trap at once."""
    full = regs.full or {}
    if full.get("eflags", flags) & X86_EFLAGS_TF:
        gate.cpu.skip_single_step_at(full.get("rip", ip))
