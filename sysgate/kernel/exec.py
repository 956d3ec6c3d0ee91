"""execve: replace the program of the calling process, as fs/exec.c does.

Everything that can fail is checked first (the file, its format, the
argument strings); then the call returns 0 and the run loop swaps in a new
CPU holding the new image (Machine.exec_image). What survives is what Linux
keeps: pid, open files but the close-on-exec ones, the cwd and root, the
signal mask, pending signals, ignored signals, interval timers.
"""
import os
import stat

from .errors import KernelError, E
from .mm import check_image
from .registry import syscall
from .fs import lookup

AT_FDCWD = -100
AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW = 0x1000, 0x100
MAX_ARG_STRLEN = 32 * 4096
ARG_MAX = 2 * 1024 * 1024       # a quarter of the 8 MB stack, Linux's limit
BINPRM_BUF = 256                # how much of a #! line Linux reads
MAX_INTERP_DEPTH = 4            # #! scripts calling #! scripts


def _strings(t, ptr):
    """A NULL-terminated array of string pointers (NULL: empty)."""
    out, total = [], 0
    if not ptr:
        return out
    while True:
        p = t.read_word(ptr + len(out) * t.word)
        if not p:
            return out
        s = t.mm.read_cstr(p, MAX_ARG_STRLEN)
        if len(s) >= MAX_ARG_STRLEN:
            raise KernelError(E.E2BIG)
        total += len(s) + 1 + t.word
        if total > ARG_MAX:
            raise KernelError(E.E2BIG)
        out.append(s)


def _open_exe(t, dirfd, path, flags):
    if flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW):
        raise KernelError(E.EINVAL)
    oflags = os.O_RDONLY | os.O_CLOEXEC | (os.O_NOFOLLOW if flags & AT_SYMLINK_NOFOLLOW else 0)
    if not path and flags & AT_EMPTY_PATH:
        host = os.dup(t.files.host(dirfd))
    else:
        host, _, _ = lookup.open_at(t, dirfd, path, oflags)
    try:
        st = os.fstat(host)
        if not stat.S_ISREG(st.st_mode) or not os.access(f"/proc/self/fd/{host}", os.X_OK):
            raise KernelError(E.EACCES)
        data = b""
        while True:
            chunk = os.read(host, 1 << 20)
            if not chunk:
                break
            data += chunk
        name = t.fs.guest_path_of(host)
    except BaseException:
        os.close(host)
        raise
    os.close(host)
    return data, st, name


def open_interpreter(t, img):
    """The program interpreter (ld.so) a dynamic img names, looked up as the
    process sees files (inside its root): (image, bytes, stat, guest path),
    or None for a static program. Errors are execve's: the open's own
    (ENOENT, EACCES), ELIBBAD for something that is no interpreter."""
    from ..loader import elf
    if not img.interp:
        return None
    data, st, name = _open_exe(t, AT_FDCWD, os.fsencode(img.interp), 0)
    try:
        interp = elf.parse(data, name)
    except elf.ElfError:
        raise KernelError(E.ELIBBAD) from None
    if interp.is64 != img.is64 or interp.interp:
        raise KernelError(E.ELIBBAD)
    return interp, data, st, name


def _shebang(data):
    """(interpreter, optional argument) of a #! script."""
    line = data[2:BINPRM_BUF].split(b"\n", 1)[0].strip(b" \t")
    if not line:
        raise KernelError(E.ENOEXEC)
    parts = line.split(None, 1)
    return parts[0], (parts[1].strip(b" \t") if len(parts) > 1 else None)


def do_execve(t, dirfd, path, argv, envp, flags):
    from ..loader import elf
    m = t.machine
    execfn = path
    for _ in range(MAX_INTERP_DEPTH + 1):
        data, st, name = _open_exe(t, dirfd, path, flags)
        if data[:2] == b"#!":
            interp, arg = _shebang(data)
            argv = [interp] + ([arg] if arg else []) + [path] + argv[1:]
            path, dirfd, flags = interp, AT_FDCWD, 0
            continue
        if data[:4] != b"\x7fELF":
            raise KernelError(E.ENOEXEC)
        try:
            img = elf.parse(data, name)
        except elf.ElfError:
            raise KernelError(E.ENOEXEC) from None
        interp = open_interpreter(t, img)
        check_image(img, *([interp[0]] if interp else []))
        break
    else:
        raise KernelError(E.ELOOP)

    def replace():
        _reset_for_exec(t)
        m.exec_image(img, data, st, name, execfn, argv, envp, interp)
    m.request_exec(replace)
    return 0


def _reset_for_exec(t):
    from .sched import Timers
    t.files.close_on_exec()
    # Caught signals go back to their default action; ignored ones stay;
    # flags are cleared for both (flush_signal_handlers).
    t.sigactions = {s: (1, 0, 0, 0, a[4]) for s, a in t.sigactions.items() if a[0] == 1}
    from .signal import SIGCHLD, after_action_change
    after_action_change(t, SIGCHLD)
    t.altstack = (0, 2, 0)
    timers = Timers(t)
    timers.real = t.timers.real          # setitimer/alarm survive execve
    t.timers = timers
    timers.refresh()
    t.rseq = None
    t.robust_list = (0, 0)
    t.clear_child_tid = 0
    t.restart_block = None
    t.saved_sigmask = None
    from .fork import release_vfork_parent
    release_vfork_parent(t)              # before the old memory goes


@syscall("execve", "path ptr ptr")
def sys_execve(t, path, argv, envp):
    return do_execve(t, AT_FDCWD, lookup.read_path(t, path), _strings(t, argv),
                     _strings(t, envp), 0)


@syscall("execveat", "dirfd path ptr ptr atflags")
def sys_execveat(t, dirfd, path, argv, envp, flags):
    return do_execve(t, dirfd, lookup.read_path(t, path), _strings(t, argv),
                     _strings(t, envp), flags & 0xFFFFFFFF)
