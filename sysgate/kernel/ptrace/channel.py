"""The conversation between a tracer and its tracees.

A tracer listens on a SOCK_SEQPACKET socket in the session's spool
directory (kernel.fs.procspool, mode 0700, outside any --root); each tracee
connects to it at its first stop. A tracee announces each stop (and, when
its tracer is not its parent, its exit); while stopped it answers requests
until one resumes it. Messages are JSON objects, bytes as hex."""
import json
import os
import socket
import tempfile
import time

MAX_MSG = 1 << 20


def path(session, tracer):
    # procspool's directory of the session (not imported: procspool reaches
    # the signal code, which must not sit in an import circle).
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return os.path.join(base, f"sysgate-{os.getuid()}", str(session), f"ptrace-{tracer}")


def traced_mark(session, pid):
    """A file that says pid is traced, for the session's other processes:
    their SIGSTOP for it must reach it as a note its tracer sees."""
    return os.path.join(os.path.dirname(path(session, 0)), f"traced-{pid}")


def mark_traced(session, pid, traced):
    p = traced_mark(session, pid)
    try:
        if traced:
            os.makedirs(os.path.dirname(p), mode=0o700, exist_ok=True)
            os.close(os.open(p, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
        else:
            os.unlink(p)
    except OSError:
        pass


def listen(session):
    p = path(session, os.getpid())
    os.makedirs(os.path.dirname(p), mode=0o700, exist_ok=True)
    try:
        os.unlink(p)
    except OSError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC
                      | socket.SOCK_NONBLOCK)
    s.bind(p)
    s.listen(64)
    return s


def connect(session, tracer, gone):
    """A connection to tracer's socket; the tracer makes it at its first
    wait or ptrace call, so until then this retries. None once gone()
    says the tracer will never answer."""
    p = path(session, tracer)
    delay = 0.0005
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        try:
            s.connect(p)
            return s
        except OSError:
            s.close()
        if gone():
            return None
        time.sleep(delay)
        delay = min(delay * 2, 0.02)


def send(sock, obj):
    try:
        sock.send(json.dumps(obj, separators=(",", ":")).encode())
        return True
    except OSError:
        return False


def recv(sock, block=True):
    """The next message; None at EOF; False when none is waiting (block False)."""
    try:
        data = sock.recv(MAX_MSG, 0 if block else socket.MSG_DONTWAIT)
    except BlockingIOError:
        return False
    except OSError:
        return None
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def peer_pid(sock):
    import struct
    cred = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    return struct.unpack("<iII", cred)[0]
