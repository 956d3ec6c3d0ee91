"""Signals sent to other processes and threads: kill, tgkill, tkill and the
sigqueueinfo calls, as kernel/signal.c. Guest processes are host processes:
the guest's signals to another guest process are host signals (kernel.hostsig
takes them in); only the session's own processes can be reached, so a
confined guest cannot signal the host's processes."""
import ctypes
import os
import struct

from .errors import KernelError, E
from .hostlibc import host_syscall
from .registry import syscall
from .session import guest_processes
from .signal import NSIG, SI_TKILL, SI_USER, send_self
from .sigpending import ignored
from .tables.unistd import NR_X86_64


def _signal_process(t, pid, sig, code):
    if pid == t.pid:
        return send_self(t, sig, code, group=True)
    if sig == 19:
        from .ptrace.attach import stop_note
        if stop_note(t, pid):       # a tracee's SIGSTOP: its tracer must see it
            return 0
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        raise KernelError(E.ESRCH) from None
    except OSError as e:
        raise KernelError(e.errno) from None
    return 0


@syscall("kill", "pid sig")
def sys_kill(t, pid, sig):
    if not 0 <= sig <= NSIG:
        raise KernelError(E.EINVAL)
    if pid == t.pid:
        return send_self(t, sig, SI_USER, group=True)
    if pid == -2**31:
        raise KernelError(E.ESRCH)
    guests = guest_processes(t)
    if pid > 0:
        if pid not in guests:
            raise KernelError(E.ESRCH)
        return _signal_process(t, pid, sig, SI_USER)
    if pid == -1:
        targets = [p for p in guests if p != t.pid]
    else:
        pgrp = os.getpgrp() if pid == 0 else -pid
        targets = [p for p, g in guests.items() if g == pgrp]
    if not targets:
        raise KernelError(E.ESRCH)
    # The caller last, so that signals to others leave before its own death.
    for p in sorted(targets, key=lambda p: p == t.pid):
        try:
            _signal_process(t, p, sig, SI_USER)
        except KernelError:
            pass
    return 0


def _own_thread(t, tid):
    """The thread tid of the caller's process, or None."""
    return t.proc.threads.get(tid)


@syscall("tgkill", "pid pid sig")
def sys_tgkill(t, tgid, tid, sig):
    if tgid <= 0 or tid <= 0 or not 0 <= sig <= NSIG:
        raise KernelError(E.EINVAL)
    if tgid == t.pid:
        target = _own_thread(t, tid)
        if target is None:
            raise KernelError(E.ESRCH)
        return send_self(t, sig, to=target)
    if tgid not in guest_processes(t):
        raise KernelError(E.ESRCH)
    if sig == 19:
        from .ptrace.attach import stop_note
        if stop_note(t, tgid, tid):     # a tracee thread's SIGSTOP: its tracer must see it
            return 0
    if tgid == tid:
        return _signal_process(t, tid, sig, SI_TKILL)
    from .hostsigcalls import tgkill
    r = tgkill(tgid, tid, sig)      # guest tids are host tids
    if r < 0:
        raise KernelError(-r)
    return 0


@syscall("tkill", "pid sig")
def sys_tkill(t, tid, sig):
    if tid <= 0 or not 0 <= sig <= NSIG:
        raise KernelError(E.EINVAL)
    target = _own_thread(t, tid)
    if target is None:
        tgid = _host_tgid(tid)      # a thread of another guest process (gdb stops them so)
        if tgid is None or tgid == t.pid:
            raise KernelError(E.ESRCH)
        return sys_tgkill(t, tgid, tid, sig)
    return send_self(t, sig, to=target)


def _host_tgid(tid):
    try:
        with open(f"/proc/{tid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"Tgid:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _queued_info(t, info_ptr):
    """The siginfo a sigqueue-style call sends (x86-64's layout) and its
    code, which the caller may not forge as the kernel's or a kill's."""
    raw = t.mm.read(info_ptr, 128)
    code = struct.unpack_from("<i", raw, 8)[0]
    if not t.is64:
        raw = raw[:12] + b"\0" * 4 + raw[12:124]
    return raw, code


@syscall("rt_sigqueueinfo", "pid sig ptr")
def sys_rt_sigqueueinfo(t, pid, sig, info_ptr):
    own = pid in (0, -1, t.pid, -t.pid)
    if not own and (pid <= 0 or pid not in guest_processes(t)):
        raise KernelError(E.ESRCH if pid > 0 else E.EPERM)
    raw, code = _queued_info(t, info_ptr)
    if code >= 0 or code == SI_TKILL:
        raise KernelError(E.EPERM)     # only sigqueue-style codes may be forged
    if not 1 <= sig <= NSIG:
        raise KernelError(E.EINVAL)
    info = struct.pack("<i", sig) + raw[4:]
    if not own:
        # Another guest process (a host process): the host queues it with
        # its bytes, and that sysgate hands them to its guest as they are.
        return host_syscall(NR_X86_64["rt_sigqueueinfo"], pid, sig,
                            ctypes.create_string_buffer(info, 128))
    return send_self(t, sig, code=code, info=info)


@syscall("rt_tgsigqueueinfo", "pid pid sig ptr")
def sys_rt_tgsigqueueinfo(t, tgid, tid, sig, info_ptr):
    if tgid <= 0 or tid <= 0:
        raise KernelError(E.EINVAL)
    raw, code = _queued_info(t, info_ptr)
    if (code >= 0 or code == SI_TKILL) and tid != t.tid:
        raise KernelError(E.EPERM)     # only sigqueue-style codes may be forged
    if not 1 <= sig <= NSIG:
        raise KernelError(E.EINVAL)
    info = struct.pack("<i", sig) + raw[4:]
    if tgid != t.pid and tgid in guest_processes(t):
        # A thread of another guest process: the host queues it, bytes and all.
        return host_syscall(NR_X86_64["rt_tgsigqueueinfo"], tgid, tid, sig,
                            ctypes.create_string_buffer(info, 128))
    target = _own_thread(t, tid) if tgid == t.pid else None
    if target is None:
        raise KernelError(E.ESRCH)
    if ignored(t, sig):
        return 0
    if not target.add_pending(sig, info):
        raise KernelError(E.EAGAIN)     # the realtime queue is full (__send_signal)
    if target is not t and t.proc.cpu_sched is not None:
        t.proc.cpu_sched.signal_thread(target)
    return 0
