"""Loading a program into the machine: the first one (the path the user
named, checked as a shell's execve would) and, at every exec, a new image
on a fresh CPU (loader.process assembles it), or on the same one when
kernel.keepinterp keeps the interpreter's translated code."""
import os

from .cpu.engine import Engine, UcError
from .entry.gate import Gate
from .entry.traps import SIGSEGV
from .kernel.errors import KernelError
from .kernel.signal import GuestSignal, inherit_signal_state
from .kernel.fs.fdtable import FdTable
from .kernel.fs.path import FsContext
from .kernel import keepinterp
from .kernel.fs.procspool import publish as publish_guest_view
from .kernel.mm import AddressSpace
from .kernel.task import Task
from .kernel.time import TimeKeeper
from .cpu.context import Thread
from .loader import elf
from .loader.image import STACK_SIZE, Fatal, choose_layout
from .loader.process import Identity, assemble


class LoadError(Exception):
    """The program cannot be started; the message is for the user."""


def load(machine, path, argv, envp=None):
    """The first program: the host path the user named, checked and
    loaded as a shell's execve would (permissions, #! scripts whose
    interpreter is looked up inside the root, the ELF checks). Refusals
    are LoadError; a failure past execve's point of no return leaves
    the program dead of SIGSEGV, as Linux leaves it."""
    from .kernel.exec import open_host, prepare
    if envp is None:
        envp = [k + b"=" + v for k, v in os.environb.items()]
    setup_network(machine)
    from .kernel.ipc.namespace import setup as setup_ipc
    setup_ipc(bool(machine.root), machine.net == "none" and os.geteuid() != 0)
    fsctx = FsContext(machine.root)
    task = Task(machine, None, FdTable(), fsctx, True)
    machine.task = task
    inherit_signal_state(task)
    execfn = os.fsencode(path)
    argv = [a if isinstance(a, bytes) else os.fsencode(a) for a in argv]
    # A script's interpreter runs inside the root: it is handed the
    # script's name there, as under chroot.
    name = os.fsencode(guest_exe_path(machine, fsctx, path)) if fsctx.confined else execfn
    try:
        first = open_host(path)
        img, f, interp, argv = prepare(task, first, name, argv)
    except KernelError as e:
        why = e.args[1] if len(e.args) > 1 else ""
        if why.startswith("cannot load its interpreter") and machine.root:
            why += f" inside {machine.root}"
        err = LoadError(f"{path}: " + (f"{why}: " if why else "") + os.strerror(e.errno))
        err.errno = e.errno         # execve's answer: the status a shell gives
        raise err from None
    exe = guest_exe_path(machine, fsctx, path) if f is first else f.name
    if f is first:
        f.name = exe       # maps name it as the guest sees it, inside the root
    try:
        exec_image(machine, img, f, exe, execfn, argv, envp, interp)
    except GuestSignal as s:
        machine.status, machine.entry = ("signal", s.signo, s.why), None
    return task


def setup_network(machine):
    from .kernel.netns import setup_network as apply_net_mode
    try:
        apply_net_mode(machine.net)
    except OSError as e:
        raise LoadError(f"--net {machine.net}: {e.strerror or e}") from None
    except ValueError:
        raise LoadError(f"unknown --net mode {machine.net!r} (host, admin or none)") from None


def parse(buf, pread, path):
    """The ELF checks made before exec's point of no return (buf: the
    file's first bytes, pread(n, pos) reads more)."""
    try:
        return elf.parse(buf, pread, path)
    except elf.ElfError as e:
        raise LoadError(str(e)) from None


# A CPU, its gate and its first thread's register view, made before a
# fork for an exec in the child (see prepare_exec): [(cpuid, Engine, Gate,
# Thread)].
_spare = []


def prepare_exec(machine):
    """Before a fork: a fresh CPU and its gate (with fresh system-call
    tables), made once in this process and never used by it, so that each
    child inherits a copy and its exec (a shell's fork+exec) takes them
    instead of making its own: some 5 ms of every exec, once here. Every
    handler module is imported first (lazyreg.import_all, which the fork
    would do anyway), so the tables hold the handlers themselves, not
    their stand-ins."""
    from .kernel.lazyreg import import_all
    import_all()
    cpuid = machine.model.make_cpuid()
    try:
        if not _spare or _spare[0][0] is not cpuid:
            _spare[:] = [(cpuid, Engine(cpuid), None, None)]
    except (UcError, MemoryError):
        _spare.clear()          # the exec will make its own (and answer ENOMEM there)
    if _spare and _spare[0][2] is None:
        # Its gate too (its tables' copy, the register file found in the
        # new CPU) and its thread's register view: the exec gives them its
        # task. (machine.cpu stays this process's: other host threads stop it)
        _warm_decoders(machine)
        cpu = _spare[0][1]
        gate = Gate(machine, cpu)
        _spare[0] = (cpuid, cpu, gate, Thread(cpu, gate))


# The calls a forked child makes before its exec, and a short program at
# its end, that its parent may never have made itself: their argument
# decoders (kernel.registry.decoder, compiled at an entry's first call)
# are made once here rather than in every child.
_CHILD_CALLS = ("execve", "exit_group", "dup2")


def _warm_decoders(machine):
    from .kernel import registry
    abi = "x86_64" if machine.task.is64 else "i386"
    for name in _CHILD_CALLS:
        call = registry.lookup(abi, name)
        if call is not None and call.kinds:
            registry.decoder(registry.converters(abi, call.kinds))


def _new_engine(machine):
    """(Engine, its Gate or None, its Thread or None) for a new image."""
    cpuid = machine.model.make_cpuid()
    if _spare and _spare[0][0] is cpuid:
        return _spare.pop()[1:]
    return Engine(cpuid), None, None


def _keep_interp(machine, interp, layout):
    """A kernel.keepinterp Kept when this exec may keep the CPU (its new
    interpreter the file the running image's is, nothing watching the
    calls or the translation), the CPU and gate then as new; else None."""
    rec, gate = machine.interp_rec, machine.gate
    if rec is None or interp is None or gate is None or gate.trace is not None \
            or machine.debug is not None or gate.threaded:
        return None
    kept = keepinterp.set_aside(machine.task.mm, rec, interp[1].st, machine.cpu,
                                layout.stack_top - STACK_SIZE)
    if kept is not None:
        machine.cpu.reuse_for_exec()
        gate.reuse_for_exec()
    return kept


def exec_image(machine, img, exe, exe_path, execfn, argv, envp, interp=None):
    """Give the task a new address space holding img (and its program
    interpreter for a dynamic program: interp is (image, Opened) from
    kernel.exec.open_interpreter), on a fresh CPU. This is past execve's
    point of no return: a failure kills the process with SIGSEGV
    (GuestSignal), as bprm_execve does."""
    task = machine.task
    trace = machine.gate.trace if machine.gate is not None else None
    layout = choose_layout(img.is64, img.pie, machine.rng)
    kept = _keep_interp(machine, interp, layout)
    if kept is None:
        machine.cpu, gate, thread = _new_engine(machine)
    else:
        gate, thread = machine.gate, None   # the same CPU: the interpreter's code is kept
    mm = AddressSpace(machine.cpu, img.is64)
    mm.mmap_base = layout.mmap_base
    mm.kept = kept
    task.mm = mm
    task.set_abi(img.is64)
    if gate is None:
        gate = Gate(machine)
    gate.task = task
    machine.gate = gate
    machine.cpu.gate = machine.gate
    machine.thread = task.thread = thread or Thread(machine.cpu, machine.gate)
    task.exe_path = exe_path
    name = execfn.encode(errors="surrogateescape") if isinstance(execfn, str) else execfn
    task.comm = name.rsplit(b"/", 1)[-1][:15]     # as exec names the task
    machine.vdso = None
    task.vdso_symbols = None
    argv = [a if isinstance(a, bytes) else os.fsencode(a) for a in argv]
    task.argv, task.envp = argv, envp
    ident = Identity(os.getuid(), os.geteuid(), os.getgid(), os.getegid(),
                     hwcap=machine.model.make_cpuid()(1, 0, not img.is64)[3])
    try:
        done = assemble(mm, img, exe.exec_file(),
                        interp and (interp[0], interp[1].exec_file()),
                        layout, execfn, argv, envp, ident, machine.random_bytes(16),
                        machine.model.fast_compat_gate(), machine.use_vdso,
                        kept.base if kept is not None else 0)
    except (Fatal, KernelError, OSError) as e:
        raise GuestSignal(SIGSEGV, f"exec failed past its point of no return: {e}") from None
    finally:
        mm.kept = None
        exe.close()
        machine.interp_rec = None
        if interp is not None:
            machine.interp_rec = keepinterp.find(mm, interp[1].st)
            interp[1].close()
    entry, machine.vdso, task.auxv_bytes = done.entry, done.vdso, done.auxv_bytes
    if machine.vdso is not None:
        task.vdso_symbols = machine.vdso.symbols
        vvar = machine.vdso.vvar
        task.timekeeper = TimeKeeper(lambda page: mm.write_kernel(vvar, page), getcpu=0)
        machine.gate.landing_pad = machine.vdso.landing_pad
        if not img.is64 and mm.read(machine.vdso.landing_pad - 4, 2) == b"\x0f\x34":
            sysenter_at = machine.vdso.landing_pad - 4
            machine.gate.sysenter_window = (machine.vdso.vsyscall, sysenter_at)
    else:
        task.timekeeper = TimeKeeper()
    machine.cpu.boot(entry, done.sp, compat=not img.is64)
    machine.entry = entry
    publish_guest_view(machine)     # what the session's other guests see in /proc/<pid>
    if trace is not None:
        machine.enable_tracing(machine._strsize)


def guest_exe_path(machine, fsctx, path):
    real = os.path.realpath(path)
    if not fsctx.confined:
        return real
    root = fsctx.root_host
    if real.startswith(root.rstrip("/") + "/"):
        return real[len(root.rstrip("/")):]
    return "/" + os.path.basename(real)
