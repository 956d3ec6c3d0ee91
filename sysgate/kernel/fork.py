"""Processes: fork (and clone and vfork) and wait.

Each guest process is a host process: fork forks sysgate itself, CPU state,
memory, open files and all, so the child continues from this very system
call. Guest pids are host pids; a child's end is its host process's end
(exit code, or death by the same signal), which is exactly what wait4 reads
from the host.
"""
import os
import struct
import time

from .errors import KernelError, E
from .registry import syscall
from .ptrace import tracer as ptrace_tracer
from .fs.procspool import publish_child
from ..abi.consts import (CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND,  # noqa: F401
                          CLONE_PIDFD, CLONE_VFORK, CLONE_THREAD, CLONE_SETTLS,
                          CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID,
                          CLONE_NEWNS, CLONE_NEWUSER, CLONE_PARENT, CLONE_CLEAR_SIGHAND,
                          CLONE_INTO_CGROUP, SIGCHLD)
CLONE_NEWS = 0x7E020000     # NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET


def _check_flags(flags):
    """copy_process's refusals, in its order."""
    if flags & (CLONE_NEWNS | CLONE_FS) == CLONE_NEWNS | CLONE_FS or \
            flags & (CLONE_NEWUSER | CLONE_FS) == CLONE_NEWUSER | CLONE_FS:
        raise KernelError(E.EINVAL)
    if flags & CLONE_THREAD and not flags & CLONE_SIGHAND:
        raise KernelError(E.EINVAL)
    if flags & CLONE_SIGHAND and not flags & CLONE_VM:
        raise KernelError(E.EINVAL)
    if flags & CLONE_SIGHAND and flags & CLONE_CLEAR_SIGHAND:
        raise KernelError(E.EINVAL)


def do_fork(t, flags, newsp=0, ptid=0, ctid=0, tls=0, exit_signal=None):
    if exit_signal is None:
        exit_signal = flags & 0xFF
    _check_flags(flags)
    if flags & CLONE_NEWS:
        raise KernelError(E.EPERM)
    if flags & CLONE_THREAD:
        from .thread import clone_thread
        return clone_thread(t, flags, newsp, ptid, ctid, tls)
    if flags & CLONE_VM and not flags & CLONE_VFORK:
        # A process sharing its parent's memory without being its thread:
        # guest processes are host processes, whose memory is their own.
        raise KernelError(E.EAGAIN)
    if not 0 <= exit_signal <= 64:
        raise KernelError(E.EINVAL)
    vfork_r = vfork_w = -1
    if flags & CLONE_VFORK:
        vfork_r, vfork_w = os.pipe2(os.O_CLOEXEC)
    t.before_fork()
    before = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    pid = os.fork()
    if pid == 0:
        t.after_fork_child()
        if t.vfork_done is not None:
            # Forked by a vfork child: the waiting parent is not ours, and
            # our memory is our own.
            os.close(t.vfork_done)
            t.vfork_done = None
            t.mm.stop_tracking()
        if vfork_w >= 0:
            os.close(vfork_r)
            t.vfork_done = vfork_w
            if flags & CLONE_VM:
                t.mm.track_writes()
        if newsp:
            t.thread.write_regs({"rsp": newsp})
            t.pt_regs.sp = newsp
        if flags & CLONE_CHILD_SETTID:
            t.mm.write(ctid, struct.pack("<i", t.pid))
        if flags & CLONE_CHILD_CLEARTID:
            t.clear_child_tid = ctid
        if flags & CLONE_SETTLS:
            from .tls import set_tls
            set_tls(t, tls)
        return 0
    forked = (before, time.clock_gettime_ns(time.CLOCK_BOOTTIME))
    t.children[pid] = exit_signal
    publish_child(t, pid, forked)   # the child's /proc entry, before the fork returns
    if flags & CLONE_PARENT_SETTID:
        t.mm.write(ptid, struct.pack("<i", pid))
    if vfork_w >= 0:
        # The parent sleeps until the child has exec'd or exited (the pipe's
        # write end closes with either), and takes in the pages it wrote.
        os.close(vfork_w)
        from .thread import host_wait
        try:
            got = bytearray()
            with host_wait(t):      # only this thread waits for the child
                while True:
                    chunk = os.read(vfork_r, 1 << 16)
                    if not chunk:
                        break
                    got += chunk
        finally:
            os.close(vfork_r)
        _take_pages(t, got)
    return pid


_PAGE_HEADER = struct.Struct("<QI")


def release_vfork_parent(t):
    """A vfork child execs or ends: its parent may go on. With CLONE_VM the
    parent's memory was the child's on Linux, so the pages the child wrote
    go back with it (glibc's posix_spawn reads the exec errno from them)."""
    if t.vfork_done is None:
        return
    fd, t.vfork_done = t.vfork_done, None
    try:
        if t.mm.dirty is not None:
            for addr, data in t.mm.written_pages():
                os.write(fd, _PAGE_HEADER.pack(addr, len(data)) + data)
    except OSError:
        pass
    finally:
        t.mm.dirty = None
        os.close(fd)


def _take_pages(t, got):
    at = 0
    while at + _PAGE_HEADER.size <= len(got):
        addr, n = _PAGE_HEADER.unpack_from(got, at)
        at += _PAGE_HEADER.size
        v = t.mm.find(addr)
        if v is not None and v.backed and not v.shared:
            t.mm.write_kernel(addr, bytes(got[at:at + n]))
        at += n


@syscall("fork")
def sys_fork(t):
    return do_fork(t, SIGCHLD)


@syscall("vfork")
def sys_vfork(t):
    return do_fork(t, CLONE_VM | CLONE_VFORK | SIGCHLD)


@syscall("clone", "flags ptr ptr ptr ptr")
def sys_clone(t, flags, newsp, ptid, a3, a4):
    # x86-64 passes child_tid then tls; i386 (CONFIG_CLONE_BACKWARDS) the reverse.
    ctid, tls = (a3, a4) if t.is64 else (a4, a3)
    if flags & CLONE_PIDFD and flags & CLONE_PARENT_SETTID:
        raise KernelError(E.EINVAL)     # both would use parent_tid
    return do_fork(t, flags & ~0xFF, newsp, ptid, ctid, tls, flags & 0xFF)


@syscall("clone3", "ptr size")
def sys_clone3(t, uargs, size):
    if size < 64 or size > 4096:
        raise KernelError(E.EINVAL)
    raw = t.mm.read(uargs, size)
    if any(raw[88:]):
        raise KernelError(E.E2BIG)
    flags, pidfd, ctid, ptid, exit_signal, stack, stack_size, tls = \
        struct.unpack_from("<8Q", raw)
    # clone3_args_valid, in its order.
    if flags & ~(0xFFFFFFFF | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP) or flags & 0xFF:
        raise KernelError(E.EINVAL)
    if flags & (CLONE_THREAD | CLONE_PARENT) and exit_signal:
        raise KernelError(E.EINVAL)
    if exit_signal & ~0xFF or exit_signal > 64:
        raise KernelError(E.EINVAL)
    if flags & CLONE_INTO_CGROUP:
        raise KernelError(E.EINVAL if size < 88 else E.EBADF)
    if bool(stack) != bool(stack_size):
        raise KernelError(E.EINVAL)
    if flags & CLONE_PIDFD:
        raise KernelError(E.EINVAL)     # no pidfds here
    newsp = stack + stack_size if stack else 0
    return do_fork(t, flags, newsp, ptid, ctid, tls, exit_signal)


# --- wait ----------------------------------------------------------------------
WNOHANG, WUNTRACED, WEXITED, WCONTINUED, WNOWAIT = 1, 2, 4, 8, 0x1000000
WNOTHREAD, WALL, WCLONE = 0x20000000, 0x40000000, 0x80000000
# The host tells us of a child's change by SIGCHLD (kernel.hostsig); this
# bounds the wait in case SIGCHLD is ignored and none comes.
WAIT_POLL_SECONDS = 0.05


def _rusage(t, addr, ru):
    if not addr:
        return
    def tv(sec):
        us = int(round(sec * 1e6))
        return (us // 10**6, us % 10**6)
    fields = (*tv(ru.ru_utime), *tv(ru.ru_stime), ru.ru_maxrss, ru.ru_ixrss, ru.ru_idrss,
              ru.ru_isrss, ru.ru_minflt, ru.ru_majflt, ru.ru_nswap, ru.ru_inblock,
              ru.ru_oublock, ru.ru_msgsnd, ru.ru_msgrcv, ru.ru_nsignals, ru.ru_nvcsw,
              ru.ru_nivcsw)
    t.mm.write(addr, struct.pack("<18q" if t.is64 else "<18i", *fields))


def _blocking_wait(t, attempt, options):
    """Retry attempt() (None: nothing yet) until it answers; a child that
    changed state wins over a pending signal, as in Linux's do_wait."""
    from . import sched
    while True:
        try:
            r = attempt()
        except KernelError:
            t.host.collect()       # the SIGCHLD of a child the host reaped itself
            raise
        if r is not None:
            t.host.collect()       # its SIGCHLD is pending when wait returns, as on Linux
        if r is not None or options & WNOHANG:
            return r
        sched.wait_event(t, ptrace_tracer.polls(t), sched.ERESTARTSYS, poll_every=WAIT_POLL_SECONDS)


@syscall("wait4", "pid ptr int ptr")
def sys_wait4(t, pid, status_ptr, options, rusage):
    if options & ~(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WALL | WCLONE):
        raise KernelError(E.EINVAL)
    if pid == -2**31:
        raise KernelError(E.ESRCH)      # -INT_MIN is no process group

    def attempt():
        try:
            got, status, ru = ptrace_tracer.wait4(t, pid, options | WNOHANG)   # + ptrace stops
        except OSError as e:            # ECHILD, EINVAL: the host's answer is ours
            raise KernelError(e.errno) from None
        if got == 0:
            return None
        if status_ptr:
            t.mm.write(status_ptr, struct.pack("<i", status))
        _rusage(t, rusage, ru)
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            t.children.pop(got, None)
        return got
    r = _blocking_wait(t, attempt, options)
    return 0 if r is None else r


@syscall("waitpid", "pid ptr int")
def sys_waitpid(t, pid, status_ptr, options):
    return sys_wait4(t, pid, status_ptr, options, 0)


P_ALL, P_PID, P_PGID, P_PIDFD = 0, 1, 2, 3


def _wait_target(t, idtype, upid):
    """(host idtype, host id) for waitid's which and pid, checked as
    kernel_waitid checks them; a pidfd is the guest's fd."""
    if idtype == P_ALL:
        return P_ALL, 0
    if idtype == P_PID and upid > 0 or idtype == P_PGID and upid >= 0:
        return idtype, upid
    if idtype == P_PIDFD and upid >= 0:
        f = t.files.fds.get(upid)
        if f is None:
            raise KernelError(E.EBADF)
        return os.P_PIDFD, f.host
    raise KernelError(E.EINVAL)


@syscall("waitid", "int pid ptr int ptr")
def sys_waitid(t, idtype, id_, infop, options, rusage):
    # Like Linux's, the call writes infop however the wait ended, errors
    # included (zeros then), so a bad infop turns any answer into EFAULT.
    r, err = None, None
    try:
        r = _waitid(t, idtype, id_, options)
    except KernelError as e:
        err = e
    if r is not None and rusage:
        import resource
        _rusage(t, rusage, resource.getrusage(resource.RUSAGE_CHILDREN))
    if infop:
        from .sigframe import siginfo, siginfo_32
        if r is None:
            info = siginfo(0, 0, True)
        else:
            info = siginfo(r.si_signo, r.si_code, True, pid=r.si_pid, uid=r.si_uid,
                           status=r.si_status)
        # si_signo, si_errno, si_code, si_pid, si_uid, si_status: no more
        info = info[:28] if t.is64 else siginfo_32(info)[:24]
        t.mm.write(infop, info)
    if err is not None:
        raise err
    return 0


def _waitid(t, idtype, id_, options):
    if options & ~(WNOHANG | WUNTRACED | WEXITED | WCONTINUED | WNOWAIT | WNOTHREAD
                   | WALL | WCLONE) or not options & (WEXITED | WUNTRACED | WCONTINUED):
        raise KernelError(E.EINVAL)
    idtype, host_id = _wait_target(t, idtype, id_)

    def attempt():
        try:
            r = ptrace_tracer.waitid(t, idtype, host_id, options | WNOHANG)   # + ptrace stops
        except OSError as e:
            raise KernelError(e.errno) from None
        if r is None:
            return None
        if r.si_code in (1, 2, 3) and not options & WNOWAIT:
            t.children.pop(r.si_pid, None)
        return r
    return _blocking_wait(t, attempt, options)


@syscall("getrusage", "int ptr")
def sys_getrusage(t, who, addr):
    import resource
    which = {0: resource.RUSAGE_SELF, -1: resource.RUSAGE_CHILDREN,
             1: resource.RUSAGE_THREAD}.get(who)
    if which is None:
        raise KernelError(E.EINVAL)
    _rusage(t, addr, resource.getrusage(which))
    return 0
