"""What one guest process of a session shows another in /proc/<pid>.

Each guest process is a host process running its own sysgate, so one cannot
ask another's model. Each publishes its guest's view (name, command line,
program, ids, sizes) in a spool directory of the session when it starts a
program (exec); a forked child's entry is its parent's, written by the
parent before its fork returns (on Linux the pid is in /proc from that
moment on, and LTP's TST_PROCESS_STATE_WAIT reads it then), so the child
writes nothing until its exec; a reader takes the entry of a pid
that is a live guest of its session (session.guest_processes), checked
against the host process's start time so a reused pid shows nothing. The
session's first process removes the directory when it ends."""
import atexit
import os

from ... import jsonio
from .. import procstate

_registered = set()
_last = []              # [spool directory, what a child's entry shares with this one's]


def _dir(session):
    base = os.environ.get("XDG_RUNTIME_DIR") or _tempdir()
    return os.path.join(base, f"sysgate-{os.getuid()}", str(session))


_TEMPDIR = []


def _tempdir():
    """tempfile.gettempdir()'s choice, made without importing tempfile
    (which imports shutil, bz2, lzma, random...: some 3 ms of a start):
    the first of $TMPDIR, $TEMP, $TMP, /tmp, /var/tmp, /usr/tmp and the
    working directory that is a directory this process may write in."""
    if not _TEMPDIR:
        dirs = [os.environ.get(n) for n in ("TMPDIR", "TEMP", "TMP")]
        for d in [d for d in dirs if d] + ["/tmp", "/var/tmp", "/usr/tmp", os.getcwd()]:
            d = os.path.abspath(d)
            if os.path.isdir(d) and os.access(d, os.W_OK | os.X_OK):
                break
        _TEMPDIR.append(d)
    return _TEMPDIR[0]


def _remove(d):
    """The session's spool, at its first process's end: files (entries,
    sockets) unlinked one by one; shutil (and the bz2 and lzma it imports,
    some 2.5 ms of the end) only for what is not a file."""
    try:
        for name in os.listdir(d):
            try:
                os.unlink(os.path.join(d, name))
            except IsADirectoryError:
                import shutil
                shutil.rmtree(os.path.join(d, name), True)
            except OSError:
                pass
        os.rmdir(d)
    except OSError:
        pass


def _ours(d):
    """A spool directory someone else made (in a shared /tmp) is not used."""
    try:
        return all(os.lstat(p).st_uid == os.getuid() and not os.path.islink(p)
                   for p in (os.path.dirname(d), d))
    except OSError:
        return False


def _start_time(pid):
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
        try:
            raw = os.read(fd, 4096)
        finally:
            os.close(fd)
        return raw.rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


def publish(machine):
    """Write this process's guest view (at exec)."""
    t = machine.task
    if t is None or t.mm is None:
        return
    from .procinfo import _comm, _mem_summary
    d = _dir(machine.session)
    try:
        if not _last or _last[0] != d:     # made and checked here or by the parent
            os.makedirs(os.path.dirname(d), mode=0o700, exist_ok=True)
            os.makedirs(d, mode=0o700, exist_ok=True)
            if not _ours(d):
                return
        m = _mem_summary(t)
        pid = os.getpid()
        info = {"pid": pid, "comm": _comm(t), "argv": [a.hex() for a in t.argv],
                "exe": t.exe_path, "uid": os.geteuid(), "gid": os.getegid(),
                "vsize": m["size"], "rss": m["rss"], "start": _start_time(pid)}
        _write(d, pid, jsonio.dumps(info))
    except OSError:
        return
    _last[:] = [d, _inherited(info)]
    procstate.publish(os.path.join(d, str(pid)))
    if machine.session == os.getpid() and d not in _registered:
        _registered.add(d)
        atexit.register(_remove, d)
    if "fork" not in _registered:
        _registered.add("fork")
        os.register_at_fork(after_in_child=_forked)


def _write(d, pid, text, state=None):
    """pid's entry: its state byte (kernel.procstate; state None: the byte
    there stays, as at an exec, whose procstate.publish sets it), then its
    JSON. Rewritten in place, and one file for both: creating a file in
    the spool costs ext4 some 100-300 us of CPU (it skips the inodes
    recently deleted, and sessions delete many), renaming one over another
    70, a small file's rewrite 4. A text shorter than the file's is padded
    with spaces (which JSON ignores), so that the file never shrinks under
    a reader; one that meets a half-written entry reads it again (_read)."""
    fd = os.open(os.path.join(d, str(pid)), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW,
                 0o600)
    try:
        data = text.encode().ljust(os.fstat(fd).st_size - 1)
        if state is None:
            os.pwrite(fd, data, 1)
        else:
            os.pwrite(fd, state + data, 0)
    finally:
        os.close(fd)


def _read(path, tries=3):
    """(state byte, JSON value) of an entry as _write leaves it; None:
    none, or unreadable."""
    for _ in range(tries):
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError:
            return None
        try:
            return raw[:1], jsonio.loads(raw[1:])
        except ValueError:
            continue        # caught mid-write
    return None


_PER_PROCESS = ("pid", "comm", "uid", "gid", "start")


def _inherited(info):
    """The JSON of what a forked child's entry shares with its parent's."""
    return jsonio.dumps({k: v for k, v in info.items() if k not in _PER_PROCESS})[1:-1]


def publish_child(t, pid, forked=None):
    """In the parent, as its fork returns: the entry of child pid, which is
    this process's own (its program, its sizes as last published; t, the
    forking thread's name) under the child's pid, and its state byte (R).
    forked: CLOCK_BOOTTIME before and after the fork (see _start_between).
    The child writes nothing of its own before its exec: the host work of
    a fork+exec is the exec's. Kept short: every page the parent touches
    while its child lives is a copy-on-write fault."""
    if not _last:
        return
    d, shared = _last
    comm = getattr(t, "comm", None)
    if comm != _comm_json[0]:
        from .procinfo import _comm
        _comm_json[:] = [comm, jsonio.dumps(_comm(t))]
    start = _start_between(*forked) if forked else None
    if start is None:
        start = _start_time(pid)
    text = '{"pid": %d, "comm": %s, "uid": %d, "gid": %d, "start": %s, %s}' % (
        pid, _comm_json[1], os.geteuid(), os.getegid(),
        "null" if start is None else '"%s"' % start, shared)
    try:
        _write(d, pid, text, b"R")
    except OSError:
        pass


_comm_json = [None, None]      # a task's comm, and as JSON


def _start_between(before, after):
    """The start time /proc/<pid>/stat gives a child forked between these
    two readings of CLOCK_BOOTTIME (in USER_HZ ticks: the kernel takes the
    child's start_boottime during the fork), when both fall in one tick;
    None otherwise. Reading it there costs some 150 us of CPU the first
    time after a fork."""
    tick = 10**9 // _clk_tck()
    return str(before // tick) if before // tick == after // tick else None


_CLK_TCK = []


def _clk_tck():
    if not _CLK_TCK:
        _CLK_TCK.append(os.sysconf("SC_CLK_TCK"))
    return _CLK_TCK[0]


def _forked():
    """In a forked child: the parent's byte is not this process's; its own
    (which the parent made) is taken when first written (procstate)."""
    procstate.publish(None)
    if _last:
        procstate.adopt(os.path.join(_last[0], str(os.getpid())))


def guest_pids(t):
    from ..session import guest_processes
    return set(guest_processes(t))


def lookup(t, pid):
    """The published view of guest pid of t's session, or None."""
    if pid not in guest_pids(t):
        return None
    d = _dir(t.session)
    if not _ours(d):
        return None
    entry = _read(os.path.join(d, str(pid)))
    if entry is None:
        return None
    state, info = entry
    if not isinstance(info, dict) or info.get("start") != _start_time(pid):
        return None
    info["state"] = state.decode() if state in (b"R", b"S") else None
    return info
