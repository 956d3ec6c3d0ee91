"""epoll and eventfd, as fs/eventpoll.c and fs/eventfd.c.

Guest fds are host fds, so an epoll instance is the host's own: epoll_ctl
registers the host fd behind the guest's with the guest's event word and
data untouched (struct epoll_event is packed, 12 bytes, in both ABIs). A
wait blocks on the epoll fd's own readiness, where signals and guest timers
can end it (EINTR: eventpoll never restarts), then takes the events."""
import ctypes
import os

from .. import sched
from ..errors import KernelError, E
from ..hostlibc import call
from ..registry import syscall
from ..time import get_timespec
from .poll import MaskedWait, read_sigmask

EPOLL_CLOEXEC = 0o2000000
EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD = 1, 2, 3
EP_MAX_EVENTS = 0x7FFFFFFF // 12
EVENT = 12
POLLIN = 1
EFD_SEMAPHORE, EFD_NONBLOCK, EFD_CLOEXEC = 1, 0o4000, 0o2000000

@syscall("epoll_create1", "flags")
def sys_epoll_create1(t, flags):
    if flags & ~EPOLL_CLOEXEC:
        raise KernelError(E.EINVAL)
    host = call("epoll_create1", EPOLL_CLOEXEC)
    return t.files.install(host, cloexec=bool(flags & EPOLL_CLOEXEC))


@syscall("epoll_create", "int")
def sys_epoll_create(t, size):
    if size <= 0:
        raise KernelError(E.EINVAL)
    return sys_epoll_create1(t, 0)


@syscall("epoll_ctl", "fd int fd ptr")
def sys_epoll_ctl(t, epfd, op, fd, event):
    ep = t.files.host(epfd)
    ev = ctypes.create_string_buffer(EVENT)
    if op != EPOLL_CTL_DEL:
        ev.raw = t.mm.read(event, EVENT)
    call("epoll_ctl", ep, op, t.files.host(fd), ev)
    return 0


def _wait(t, epfd, events, maxevents, deadline, mask):
    if maxevents <= 0 or maxevents > EP_MAX_EVENTS:
        raise KernelError(E.EINVAL)
    if events + maxevents * EVENT > t.mm.task_size:
        raise KernelError(E.EFAULT)
    ep = t.files.host(epfd)
    n = min(maxevents, 1024)
    buf = ctypes.create_string_buffer(n * EVENT)
    with MaskedWait(t, mask):
        while True:
            got = call("epoll_wait", ep, buf, n, 0)
            if got:
                t.mm.write(events, buf.raw[:got * EVENT])
                return got
            if deadline is not None and sched.now_ns() >= deadline:
                return 0
            sched.wait_event(t, ((ep, POLLIN),), E.EINTR, deadline=deadline)


def _deadline_ms(timeout):
    return None if timeout < 0 else sched.now_ns() + timeout * 1_000_000


@syscall("epoll_wait", "fd ptr int int")
def sys_epoll_wait(t, epfd, events, maxevents, timeout):
    return _wait(t, epfd, events, maxevents, _deadline_ms(timeout), None)


@syscall("epoll_pwait", "fd ptr int int ptr size")
def sys_epoll_pwait(t, epfd, events, maxevents, timeout, sigmask, size):
    return _wait(t, epfd, events, maxevents, _deadline_ms(timeout), read_sigmask(t, sigmask, size))


@syscall("epoll_pwait2", "fd ptr int ptr ptr size")
def sys_epoll_pwait2(t, epfd, events, maxevents, ts, sigmask, size):
    deadline = None if not ts else sched.now_ns() + get_timespec(t, ts, True)
    return _wait(t, epfd, events, maxevents, deadline, read_sigmask(t, sigmask, size))


# --- eventfd ---------------------------------------------------------------------
@syscall("eventfd2", "uint flags")
def sys_eventfd2(t, count, flags):
    if flags & ~(EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC):
        raise KernelError(E.EINVAL)
    host = os.eventfd(count, (flags & (EFD_SEMAPHORE | EFD_NONBLOCK)) | EFD_CLOEXEC)
    return t.files.install(host, cloexec=bool(flags & EFD_CLOEXEC))


@syscall("eventfd", "uint")
def sys_eventfd(t, count):
    return sys_eventfd2(t, count, 0)
