"""execve: replace the program of the calling process, as fs/exec.c does.

Everything Linux checks before its point of no return is checked first,
in its order and with its errnos (the file's type and permission, never
opening a FIFO or a device; #! lines; the ELF and interpreter headers, read
with pread, never the whole file); then the call returns 0 and the run loop
swaps in a new CPU holding the new image (Machine.exec_image; or the
same CPU as new, kernel.keepinterp), where a
failure kills the process with SIGSEGV as Linux's does. What survives is
what Linux keeps: pid, open files but the close-on-exec ones, the cwd and
root, the signal mask, pending signals, ignored signals, interval timers.
"""
import os
import stat
import struct

from ..abi.consts import AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, O_PATH
from .errors import KernelError, E
from .mm import PROT_READ
from .registry import syscall
from .fs import lookup
from . import txtbusy
from ..loader import elf
from ..loader.image import ExecFile

MAX_ARG_STRLEN = 32 * 4096
ARG_MAX = 2 * 1024 * 1024       # a quarter of the 8 MB stack, Linux's limit
BINPRM_BUF = 256                # what exec reads of a file to choose its format
MAX_REWRITES = 5                # exec_binprm: #! scripts running #! scripts


def _strings(t, ptr):
    """A NULL-terminated array of string pointers (NULL: empty), as
    copy_strings takes it: EFAULT where it or a string cannot be read,
    E2BIG for a string of MAX_ARG_STRLEN or more or past ARG_MAX in all."""
    out, total = [], 0
    if not ptr:
        return out
    mem = _Window(t.mm)
    word = t.word
    unpack = struct.Struct("<Q" if word == 8 else "<I").unpack
    while True:
        p = unpack(mem.read(ptr + len(out) * word, word))[0]
        if not p:
            return out
        s = mem.cstr(p, MAX_ARG_STRLEN)
        total += len(s) + 1 + word
        if total > ARG_MAX:
            raise KernelError(E.E2BIG)
        out.append(s)


class _Window:
    """The guest's memory as execve reads argv and envp: a window of one
    mapping at a time, not a call per pointer and per string (a shell's
    environment is a hundred strings, mostly close together). It starts
    at a page and doubles at each move, up to WINDOW bytes: a first read
    of WINDOW bytes was some 16 pages of the child's memory touched (and
    50 us) for the few hundred bytes of a usual command line."""
    FIRST, WINDOW = 1 << 12, 1 << 16

    def __init__(self, mm):
        self.mm, self.base, self.data, self.size = mm, 0, b"", self.FIRST

    def _at(self, addr):
        """The window's bytes from addr on, moving it there if need be."""
        off = addr - self.base
        if 0 <= off < len(self.data):
            return self.data, off
        v = self.mm.usable(addr, PROT_READ)
        if v is None:
            raise KernelError(E.EFAULT)
        self.base, self.data = addr, self.mm.read(addr, min(v.end - addr, self.size))
        self.size = min(self.size * 2, self.WINDOW)
        return self.data, 0

    def read(self, addr, n):
        data, off = self._at(addr)
        if off + n <= len(data):
            return data[off:off + n]
        return self.mm.read(addr, n)       # across two mappings

    def cstr(self, addr, limit):
        parts, n = [], 0
        while True:
            data, off = self._at(addr + n)
            nul = data.find(b"\0", off, off + limit - n)
            if nul >= 0:
                parts.append(data[off:nul])
                return b"".join(parts)
            parts.append(data[off:off + limit - n])
            n += len(parts[-1])
            if n >= limit:
                raise KernelError(E.E2BIG)


class Opened:
    """A file exec opened (do_open_execat): a read-only host fd, its stat,
    the name the guest knows it by, and the first BINPRM_BUF bytes, all
    exec reads before choosing a format."""

    def __init__(self, host, st, name):
        self.host, self.st, self.name = host, st, name
        try:
            self.buf = os.pread(host, BINPRM_BUF, 0)
        except OSError as e:
            self.close()
            raise KernelError(e.errno) from None

    def pread(self, n, pos):
        try:
            return os.pread(self.host, n, pos)
        except OSError as e:
            raise elf.ElfError(e.errno) from None

    def exec_file(self):
        """What the loader maps segments from (a descriptor of its own)."""
        from .mm import MappedFile
        st = self.st
        return ExecFile(MappedFile(os.dup(self.host), False), self.name, st.st_dev, st.st_ino,
                        os.fstat(self.host).st_size)

    def close(self):
        if self.host is not None:
            os.close(self.host)
            self.host = None


def checked_open(path_fd, name):
    """may_open's checks for MAY_EXEC on an O_PATH descriptor (a FIFO or a
    device is never opened: EACCES, as Linux refuses it before opening),
    then the file opened for reading. Consumes path_fd."""
    try:
        st = os.fstat(path_fd)
        if stat.S_ISLNK(st.st_mode):
            raise KernelError(E.ELOOP)
        if not stat.S_ISREG(st.st_mode) or not os.access(f"/proc/self/fd/{path_fd}", os.X_OK):
            raise KernelError(E.EACCES)
        txtbusy.check(path_fd)
        try:
            host = os.open(f"/proc/self/fd/{path_fd}", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            raise KernelError(e.errno) from None
    finally:
        os.close(path_fd)
    return Opened(host, st, name)


def open_exec(t, dirfd, path, flags):
    """do_open_execat: (dirfd, path) as the guest names it."""
    if flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW):
        raise KernelError(E.EINVAL)
    if not path and flags & AT_EMPTY_PATH:
        h = os.dup(t.fs.cwd_fd if dirfd == AT_FDCWD else t.files.host(dirfd))
    else:
        oflags = O_PATH | os.O_CLOEXEC | (os.O_NOFOLLOW if flags & AT_SYMLINK_NOFOLLOW else 0)
        h, _, _ = lookup.open_at(t, dirfd, path, oflags)
    try:
        name = t.fs.guest_path_of(h)
    except BaseException:
        os.close(h)
        raise
    return checked_open(h, name)


def open_host(path):
    """The first program, a host path as the user's shell would exec it."""
    try:
        h = os.open(path, O_PATH | os.O_CLOEXEC)
    except OSError as e:
        raise KernelError(e.errno) from None
    return checked_open(h, os.path.realpath(path))


def _spacetab(c):
    return c in (0x20, 0x09)


def _next_non_spacetab(buf, first, last):
    for i in range(first, last + 1):
        if not _spacetab(buf[i]):
            return i
    return None


def _next_terminator(buf, first, last):
    for i in range(first, last + 1):
        if _spacetab(buf[i]) or not buf[i]:
            return i
    return None


def _shebang(buf):
    """(interpreter, optional argument) of a #! line, as binfmt_script
    reads it from the first BINPRM_BUF bytes: ENOEXEC when no interpreter
    name is there or the line may have been cut."""
    buf = bytes(buf).ljust(BINPRM_BUF, b"\0")
    buf_end = BINPRM_BUF - 1
    nul = buf.find(b"\0")
    i_end = buf.find(b"\n", 0, nul if nul >= 0 else BINPRM_BUF)
    if i_end < 0:
        i_end = _next_non_spacetab(buf, 2, buf_end)
        if i_end is None or _next_terminator(buf, i_end, buf_end) is None:
            raise KernelError(E.ENOEXEC)
        i_end = buf_end
    while _spacetab(buf[i_end - 1]):
        i_end -= 1
    i_name = _next_non_spacetab(buf, 2, i_end)
    if i_name is None or i_name == i_end:
        raise KernelError(E.ENOEXEC)
    i_sep = _next_terminator(buf, i_name, i_end)
    i_arg = None
    if i_sep is not None and buf[i_sep]:
        i_arg = _next_non_spacetab(buf, i_sep, i_end)
    name = buf[i_name:i_sep if i_sep is not None else i_end]
    arg = buf[i_arg:i_end].split(b"\0", 1)[0] if i_arg is not None else None
    return name, arg


def open_interpreter(t, img):
    """The program interpreter (ld.so) a dynamic img names, opened as the
    process sees files (inside its root): (image, Opened), or None for a
    static program. Errors are execve's: the open's own (ENOENT, EACCES),
    EIO for a short header, ELIBBAD for something that is no interpreter."""
    if img.interp is None:
        return None
    why = f"cannot load its interpreter {os.fsdecode(img.interp)}"
    try:
        # An empty name is looked up as the kernel's getname_kernel leaves
        # it: the working directory (so EACCES), not ENOENT.
        f = open_exec(t, AT_FDCWD, img.interp, 0 if img.interp else AT_EMPTY_PATH)
    except KernelError as e:
        raise KernelError(e.errno, why) from None
    try:
        size = elf.interp_header_size(img.is64)
        buf = f.pread(size, 0)
        if len(buf) != size:
            raise elf.ElfError(E.EIO)
        return elf.parse_interp(buf, f.pread, img.is64), f
    except elf.ElfError as e:
        f.close()
        raise KernelError(e.errno, why) from None
    except BaseException:
        f.close()
        raise


def prepare(t, f, path, argv, inaccessible=False):
    """exec_binprm's search up to the point of no return: #! scripts
    rewritten (their interpreters looked up inside the root), then the ELF
    checks. Returns (image, Opened, interpreter or None, argv). inaccessible:
    the file was named by a close-on-exec descriptor, which a script's
    interpreter could not open (ENOENT, as binfmt_script answers)."""
    for _ in range(MAX_REWRITES + 1):
        if f.buf[:2] == b"#!":
            try:
                interp, arg = _shebang(f.buf)
                if inaccessible:
                    raise KernelError(E.ENOENT)
            finally:
                f.close()
            inaccessible = False
            argv = [interp] + ([arg] if arg is not None else []) + [path] + argv[1:]
            path = interp
            f = open_exec(t, AT_FDCWD, interp, 0)
            continue
        try:
            img = elf.parse(f.buf, f.pread, f.name)
            return img, f, open_interpreter(t, img), argv
        except elf.ElfError as e:
            f.close()
            raise KernelError(e.errno, str(e)) from None
        except BaseException:
            f.close()
            raise
    f.close()
    raise KernelError(E.ELOOP)


def do_execve(t, dirfd, path, argv, envp, flags):
    f = open_exec(t, dirfd, path, flags)
    # The name the new program is given (AT_EXECFN, a script's argument):
    # a path relative to a descriptor becomes /dev/fd/N/path (alloc_bprm).
    name, inaccessible = path, False
    if dirfd != AT_FDCWD and path[:1] != b"/":
        name = b"/dev/fd/%d" % dirfd + (b"/" + path if path else b"")
        inaccessible = t.files.get(dirfd).cloexec
    try:
        img, f, interp, argv = prepare(t, f, name, argv or [b""], inaccessible)
    except BaseException:
        f.close()
        raise

    def replace():
        _reset_for_exec(t)
        t.exec_image(img, f, f.name, name, argv, envp, interp)
        from .ioport import install
        install(t)          # I/O permissions survive execve
    t.request_exec(replace)
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
