"""What one guest process of a session shows another in /proc/<pid>.

Each guest process is a host process running its own sysgate, so one cannot
ask another's model. Each publishes its guest's view (name, command line,
program, ids, sizes) in a spool directory of the session when it starts a
program (exec) and when it is forked (the parent's fork returns once the
child has published: on Linux the pid is in /proc from that moment on, and
LTP's TST_PROCESS_STATE_WAIT reads it then); a reader takes the entry of a pid
that is a live guest of its session (session.guest_processes), checked
against the host process's start time so a reused pid shows nothing. The
session's first process removes the directory when it ends."""
import atexit
import os

from ... import jsonio
from .. import procstate

_registered = set()
_fork_pipe = []         # [read end, write end] across one host fork


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
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


def publish(machine):
    """Write this process's guest view (at exec and after fork)."""
    t = machine.task
    if t is None or t.mm is None:
        return
    from .procinfo import _comm, _mem_summary
    d = _dir(machine.session)
    try:
        os.makedirs(os.path.dirname(d), mode=0o700, exist_ok=True)
        os.makedirs(d, mode=0o700, exist_ok=True)
        if not _ours(d):
            return
        m = _mem_summary(t)
        pid = os.getpid()
        info = {"pid": pid, "comm": _comm(t), "argv": [a.hex() for a in t.argv],
                "exe": t.exe_path, "uid": os.geteuid(), "gid": os.getegid(),
                "vsize": m["size"], "rss": m["rss"], "start": _start_time(pid)}
        tmp = os.path.join(d, f".{pid}")
        with open(tmp, "w") as f:
            f.write(jsonio.dumps(info))
        os.replace(tmp, os.path.join(d, str(pid)))
    except OSError:
        return
    procstate.publish(os.path.join(d, f"{pid}.state"))
    if machine.session == os.getpid() and d not in _registered:
        _registered.add(d)
        atexit.register(_remove, d)
    if "fork" not in _registered:
        _registered.add("fork")
        os.register_at_fork(before=_before_fork, after_in_parent=_wait_for_child,
                            after_in_child=lambda: _publish_child(machine))


# Guest forks are serialized (one guest thread runs the kernel at a time),
# so one pipe at a time: the child closes its write end once its entry is
# written (or by dying), which is what the parent waits for.
def _before_fork():
    _close_fork_pipe()
    try:
        _fork_pipe.extend(os.pipe2(os.O_CLOEXEC))
    except OSError:
        pass


def _wait_for_child():
    if len(_fork_pipe) != 2:
        return
    r, w = _fork_pipe
    os.close(w)
    _fork_pipe[1] = -1
    try:
        while os.read(r, 1):
            pass
    except OSError:
        pass
    _close_fork_pipe()


def _publish_child(machine):
    procstate.publish(None)         # the parent's byte is not this process's
    try:
        publish(machine)
    finally:
        _close_fork_pipe()


def _close_fork_pipe():
    for fd in _fork_pipe:
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass
    _fork_pipe.clear()


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
    try:
        with open(os.path.join(d, str(pid))) as f:
            info = jsonio.loads(f.read())
    except (OSError, ValueError):
        return None
    if info.get("start") != _start_time(pid):
        return None
    info["state"] = procstate.read(os.path.join(d, f"{pid}.state"))
    return info
