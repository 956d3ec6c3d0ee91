"""process_vm_readv and process_vm_writev (mm/process_vm_access.c): a
process's own memory, or a stopped tracee's through its tracer."""
import errno as E
import struct

from ...abi.consts import PROT_READ, PROT_WRITE
from ..errors import KernelError
from ..registry import syscall
from . import tracer as tracing

IOV_MAX = 1024


def _guest(t, pid):
    from ..signal import guest_processes
    return pid in guest_processes(t)

def _iovecs(t, addr, count):
    if count > IOV_MAX:
        raise KernelError(E.EINVAL)
    if not count:
        return []
    fmt = "<QQ" if t.is64 else "<II"
    size = struct.calcsize(fmt)
    raw = t.mm.read(addr, size * count)
    out = [struct.unpack_from(fmt, raw, i * size) for i in range(count)]
    total = 0
    for _, n in out:
        total += n
        if n >> 63 or total > 0x7FFFF000:
            raise KernelError(E.EINVAL)
    return out


def _vm(t, pid, local, lcount, remote, rcount, flags, write):
    if flags:
        raise KernelError(E.EINVAL)
    liov = _iovecs(t, local, lcount)
    if not any(n for _, n in liov):
        return 0               # process_vm_rw: nothing to copy, no task looked up
    riov = _iovecs(t, remote, rcount)
    if not sum(n for _, n in riov):
        return 0
    if pid == t.pid:
        peer = None
    else:
        tr = tracing.get(t)
        if tr is not None:
            tr.pump()
        e = tr.tracees.get(pid) if tr is not None else None
        if e is None and not _guest(t, pid):
            raise KernelError(E.ESRCH)
        e = tr.stopped_thread(e) if e is not None else None
        if e is None:
            raise KernelError(E.EPERM)     # only a stopped tracee's memory is reachable
        peer = (tr, e)
    # The local side first: a bad local buffer is EFAULT before anything moves.
    done = 0
    li, loff = 0, 0
    for raddr, rlen in riov:
        off = 0
        while off < rlen:
            while li < len(liov) and loff >= liov[li][1]:
                li, loff = li + 1, 0
            if li >= len(liov):
                return done
            chunk = min(rlen - off, liov[li][1] - loff, 1 << 16)
            laddr = liov[li][0] + loff
            try:
                if write:
                    data = t.mm.read(laddr, chunk)
                    n = _remote_write(t, peer, raddr + off, data)
                else:
                    data = _remote_read(t, peer, raddr + off, chunk)
                    t.mm.write(laddr, data)
                    n = len(data)
            except KernelError as err:
                if done:
                    return done
                raise KernelError(E.EFAULT if err.errno == E.EIO else err.errno) from None
            done += n
            if n < chunk:
                return done
            off += chunk
            loff += chunk
    return done


def _own_extent(t, addr, n, prot):
    """The caller's own memory is copied up to the first page it cannot
    reach, as process_vm_rw's page pinning stops there."""
    n = t.mm.extent(addr, n, prot)
    if not n:
        raise KernelError(E.EFAULT)
    return n


def _remote_read(t, peer, addr, n):
    if peer is None:
        return t.mm.read(addr, _own_extent(t, addr, n, PROT_READ))
    tr, e = peer
    return bytes.fromhex(tr.request(e, {"op": "read", "addr": addr, "n": n})["data"])


def _remote_write(t, peer, addr, data):
    if peer is None:
        n = _own_extent(t, addr, len(data), PROT_WRITE)
        t.mm.write(addr, data[:n])
        return n
    tr, e = peer
    tr.request(e, {"op": "write", "addr": addr, "data": data.hex()})
    return len(data)


@syscall("process_vm_readv", "pid ptr ulong ptr ulong ulong")
def sys_process_vm_readv(t, pid, local, lcount, remote, rcount, flags):
    return _vm(t, pid, local, lcount, remote, rcount, flags, False)


@syscall("process_vm_writev", "pid ptr ulong ptr ulong ulong")
def sys_process_vm_writev(t, pid, local, lcount, remote, rcount, flags):
    return _vm(t, pid, local, lcount, remote, rcount, flags, True)
