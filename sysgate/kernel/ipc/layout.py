"""The IPC structures between the host's layout (x86-64's, which the host
call fills or reads) and the guest's: x86-64 guests share the host's
bytes; i386 guests get the compat forms (ipc/compat.c's copy-outs: the
64-bit times split in halves, counts cut to 32 bits), or the old ones
the ipc() multiplexer gives without IPC_64 (16-bit ids through
high2lowuid, 16-bit counts cut)."""
import ctypes

from ...abi.structs import LAYOUTS
from . import IPC_SET

HOST = LAYOUTS["x86_64"]
I386 = LAYOUTS["i386"]
# The multiplexer's old form of each structure.
OLD = {"msqid64_ds": "msqid_ds", "semid64_ds": "semid_ds", "shmid64_ds": "shmid_ds",
       "shminfo64": "shminfo"}
_IDS = ("uid", "gid", "cuid", "cgid")
INT_MAX = 0x7FFFFFFF
OVERFLOWUID = 65534


def host_buffer(name):
    return ctypes.create_string_buffer(HOST[name].size)


def guest_size(t, name, old=False):
    if t.abi == "x86_64":
        return HOST[name].size
    return I386[OLD.get(name, name) if old else name].size


def to_guest(t, name, raw, old=False):
    """The guest's bytes for the host's structure name (raw bytes)."""
    if t.abi == "x86_64":
        return raw
    vals = dict(zip(HOST[name].fields, HOST[name].st.unpack(raw)))
    if name == "shminfo64":
        vals["shmmax"] = min(vals["shmmax"], INT_MAX)   # copy_compat_shminfo_to_user
    lay = I386[OLD.get(name, name) if old else name]
    out = []
    for f in lay.fields:
        if f.endswith("_hi"):
            v = vals[f[:-3]] >> 32
        elif f in ("lcbytes", "lqbytes"):
            v = 0                   # compat_msqid_ds leaves them zero
        else:
            v = vals[f]
            if old and f in _IDS and v > 0xFFFF:
                v = OVERFLOWUID
        out.append(v)
    return lay.cut.pack(*(v & m for v, m in zip(out, lay.masks)))


def from_guest(t, name, raw, old=False):
    """The host's bytes for the guest's structure (IPC_SET): what the
    compat copy-ins keep (ids, mode, and a queue's qbytes), the rest zero."""
    if t.abi == "x86_64":
        return raw
    lay = I386[OLD.get(name, name) if old else name]
    vals = dict(zip(lay.fields, lay.st.unpack(raw)))
    host = HOST[name]
    keep = {"uid", "gid", "mode", "qbytes"}
    return host.st.pack(*(vals[f] & 0xFFFFFFFF if f in keep and f in vals else 0
                          for f in host.fields))


def stat_out(t, call, name, addr, old=False):
    """call(buffer) fills the host's structure name (an IPC_STAT-like
    command); the guest gets its own form of it at addr. call's answer."""
    out = host_buffer(name)
    r = call(out)
    t.mm.write(addr, to_guest(t, name, out.raw, old))
    return r


def set_in(t, call, name, addr, old=False):
    """IPC_SET: the guest's structure at addr, read in its own form, handed
    to call as the host's."""
    raw = t.mm.read(addr, guest_size(t, name, old))
    return call(ctypes.create_string_buffer(from_guest(t, name, raw, old)))


def stat_set_or_bare(t, call, cmd, stats, name, addr, old=False):
    """The common end of msgctl, semctl and shmctl: a command of stats
    (IPC_STAT and its kin) gives the guest structure name at addr,
    IPC_SET takes it from there, any other (IPC_RMID...) passes none."""
    if cmd in stats:
        return stat_out(t, call, name, addr, old)
    if cmd == IPC_SET:
        return set_in(t, call, name, addr, old)
    return call(0)

