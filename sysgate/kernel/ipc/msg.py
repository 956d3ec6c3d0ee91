"""Message queues: msgget, msgsnd, msgrcv, msgctl (ipc/msg.c), each the
host's own call. A message crosses as struct msgbuf, whose `long mtype`
is 4 bytes on i386 and 8 on the host. A wait for room or for a message
ends on a guest signal with -ERESTARTNOHAND, as do_msgsnd and do_msgrcv
end theirs."""
import ctypes
import struct

from ..errors import KernelError, E
from ..hostmem import HostMapping
from ..registry import syscall
from ..sched import ERESTARTNOHAND
from ..vma import page_up
from . import IPC_64, IPC_INFO, IPC_NOWAIT, IPC_SET, IPC_STAT
from . import check_available, host, host_blocking, info
from .layout import guest_size, stat_set_or_bare

MSG_STAT, MSG_INFO, MSG_STAT_ANY = 11, 12, 13
MSG_COPY = 0o40000
MSGMAX_DEFAULT = 8192       # below it no limit needs asking before the copy
MSGINFO_SIZE = 32
INT_MAX = 0x7FFFFFFF
SMALL = 1 << 16


def _msgmax():
    return info("msg")[2]


@syscall("msgget", "int int")
def sys_msgget(t, key, flags):
    check_available()
    return host("msgget", key, flags)


@syscall("msgsnd", "int ptr ssize int")
def sys_msgsnd(t, msqid, msgp, msgsz, flags):
    check_available()
    L = t.word
    (mtype,) = struct.unpack("<q" if L == 8 else "<i", t.mm.read(msgp, L))
    if msgsz < 0 or msqid < 0 or (msgsz > MSGMAX_DEFAULT and msgsz > _msgmax()):
        raise KernelError(E.EINVAL)
    if mtype < 1:
        raise KernelError(E.EINVAL)
    try:
        text = t.mm.read(msgp + L, msgsz)
    except KernelError:
        if msgsz > _msgmax():       # load_msg comes after the size check
            raise KernelError(E.EINVAL) from None
        raise
    buf = ctypes.create_string_buffer(struct.pack("<q", mtype) + text, 8 + msgsz)
    try:
        return host("msgsnd", msqid, buf, msgsz, flags | IPC_NOWAIT)
    except KernelError as e:
        if e.errno != E.EAGAIN or flags & IPC_NOWAIT:
            raise
    # The queue is full: wait for room.
    return host_blocking(t, ERESTARTNOHAND, "msgsnd", msqid, buf, msgsz, flags)


def _receive_buffer(n):
    """(holder, address) of n bytes of host memory: a large buffer is
    reserved address space whose pages cost nothing until the host's
    msgrcv writes the message into them."""
    if n <= SMALL:
        b = ctypes.create_string_buffer(n)
        return b, ctypes.addressof(b)
    m = HostMapping.anon(page_up(n))
    return m, m.addr


@syscall("msgrcv", "int ptr ssize long int")
def sys_msgrcv(t, msqid, msgp, msgsz, msgtyp, flags):
    check_available()
    if msqid < 0 or msgsz < 0:
        raise KernelError(E.EINVAL)
    # No message is larger than msgmax, an int: a larger buffer is no different.
    n = min(msgsz, INT_MAX)
    _hold, addr = _receive_buffer(8 + n)
    if flags & (IPC_NOWAIT | MSG_COPY):
        got = host("msgrcv", msqid, ctypes.c_void_p(addr), n, msgtyp, flags)
    else:
        try:
            got = host("msgrcv", msqid, ctypes.c_void_p(addr), n, msgtyp, flags | IPC_NOWAIT)
        except KernelError as e:
            if e.errno != E.ENOMSG:
                raise
            got = host_blocking(t, ERESTARTNOHAND, "msgrcv", msqid, ctypes.c_void_p(addr), n,
                                msgtyp, flags)
    # The message has left the queue: a bad buffer loses it, as on Linux.
    L = t.word
    (mtype,) = struct.unpack("<q", ctypes.string_at(addr, 8))
    t.mm.write(msgp, struct.pack("<q" if L == 8 else "<I", mtype & ((1 << 8 * L) - 1)))
    t.mm.write(msgp + L, ctypes.string_at(addr + 8, got))
    return got


@syscall("msgctl", "int int ptr")
def sys_msgctl(t, msqid, cmd, buf):
    check_available()
    if msqid < 0 or cmd < 0:
        raise KernelError(E.EINVAL)
    if t.abi == "i386" and cmd & IPC_64:
        cmd = _compat_flagged(t, cmd, buf)
    return do_msgctl(t, msqid, cmd, buf)


def _compat_flagged(t, cmd, buf):
    """i386's msgctl with IPC_64 in cmd: compat_ksys_msgctl switches on
    cmd without the flag but hands the flagged cmd on, so IPC_STAT looks
    the queue up as MSG_STAT does and MSG_INFO answers as IPC_INFO;
    IPC_SET and IPC_RMID end in EINVAL (IPC_SET's copy-in first)."""
    base = cmd & ~IPC_64
    if base == IPC_STAT:
        return MSG_STAT
    if base == MSG_INFO:
        return IPC_INFO
    if base in (IPC_INFO, MSG_STAT, MSG_STAT_ANY):
        return base
    if base == IPC_SET:
        t.mm.read(buf, guest_size(t, "msqid64_ds"))
    raise KernelError(E.EINVAL)


def do_msgctl(t, msqid, cmd, buf, old=False):
    """msgctl with cmd stripped of IPC_64; old: the multiplexer's old
    structures."""
    if msqid < 0 or cmd < 0:
        raise KernelError(E.EINVAL)
    if cmd in (IPC_INFO, MSG_INFO):
        out = ctypes.create_string_buffer(MSGINFO_SIZE)
        r = host("msgctl", msqid, cmd, out)
        t.mm.write(buf, out.raw)
        return r
    def call(arg):
        return host("msgctl", msqid, cmd, arg)
    return stat_set_or_bare(t, call, cmd, (IPC_STAT, MSG_STAT, MSG_STAT_ANY), "msqid64_ds", buf,
                            old)
