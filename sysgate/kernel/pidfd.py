"""Process file descriptors: pidfd_open, pidfd_send_signal, pidfd_getfd.

A guest process is a host process, so a pidfd is the host's own (readable
when the process ends, usable by waitid(P_PIDFD) and poll), opened only for
a guest of this session. pidfd_getfd of another guest would take one of the
sysgate process's own descriptors (the guest's fd numbers are its model's),
so it is refused as Linux refuses it without ptrace access; of the caller
itself it duplicates the guest's own descriptor."""
import ctypes
import os

from .errors import KernelError, E
from .hostlibc import host_syscall
from .registry import syscall
from .tables.unistd import NR_X86_64

SYS_PIDFD_OPEN, SYS_PIDFD_SEND_SIGNAL = NR_X86_64["pidfd_open"], NR_X86_64["pidfd_send_signal"]
PIDFD_NONBLOCK = os.O_NONBLOCK
PIDFD_SIGNAL_THREAD, PIDFD_SIGNAL_THREAD_GROUP, PIDFD_SIGNAL_PROCESS_GROUP = 1, 2, 4


def _pid_of(host):
    """The pid a host pidfd refers to (its fdinfo's Pid line), or None
    when the descriptor is no pidfd."""
    try:
        with open(f"/proc/self/fdinfo/{host}") as f:
            for line in f:
                if line.startswith("Pid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


@syscall("pidfd_open", "pid flags")
def sys_pidfd_open(t, pid, flags):
    if flags & ~PIDFD_NONBLOCK or pid <= 0:
        raise KernelError(E.EINVAL)
    if pid != t.pid:
        from .session import guest_processes
        if pid not in guest_processes(t):
            raise KernelError(E.ESRCH)
    host = host_syscall(SYS_PIDFD_OPEN, ctypes.c_int(pid), ctypes.c_uint(flags))
    return t.files.install(host, cloexec=True)


def _target(t, pidfd):
    f = t.files.get(pidfd)
    pid = _pid_of(f.host)
    if pid is None:
        raise KernelError(E.EBADF)          # not a pidfd
    if pid != t.pid:
        from .session import guest_processes
        if pid not in guest_processes(t):
            if not os.path.exists(f"/proc/{pid}"):
                raise KernelError(E.ESRCH)      # it has ended
            # A pidfd handed in from outside: still no way out of the session.
            raise KernelError(E.EPERM)
    return f, pid


@syscall("pidfd_send_signal", "fd sig ptr flags")
def sys_pidfd_send_signal(t, pidfd, sig, info, flags):
    scope = PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP
    if flags & ~scope or flags & (flags - 1):
        raise KernelError(E.EINVAL)
    f, pid = _target(t, pidfd)
    if flags == PIDFD_SIGNAL_PROCESS_GROUP:
        # Through kill's own path, which keeps to the session's members.
        from .sigsend import sys_kill
        if info:
            raise KernelError(E.EINVAL)
        return sys_kill(t, -os.getpgid(pid), sig)
    if pid == t.pid:
        from .signal import send_self, SI_USER
        if info:
            from .sigsend import sys_rt_sigqueueinfo
            return sys_rt_sigqueueinfo(t, pid, sig, info)
        return send_self(t, sig, SI_USER)
    if info:
        raw = ctypes.create_string_buffer(t.mm.read(info, 128), 128)
        host_syscall(SYS_PIDFD_SEND_SIGNAL, ctypes.c_int(f.host), ctypes.c_int(sig), raw,
                     ctypes.c_uint(0))
    else:
        host_syscall(SYS_PIDFD_SEND_SIGNAL, ctypes.c_int(f.host), ctypes.c_int(sig), None,
                     ctypes.c_uint(0))
    return 0


@syscall("pidfd_getfd", "fd fd flags")
def sys_pidfd_getfd(t, pidfd, targetfd, flags):
    if flags:
        raise KernelError(E.EINVAL)
    _, pid = _target(t, pidfd)
    if pid != t.pid:
        raise KernelError(E.EPERM)
    src = t.files.get(targetfd)
    return t.files.install(os.dup(src.host), cloexec=True, like=src)
