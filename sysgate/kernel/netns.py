"""The guest's power over the host's network (--net): none unless the user
asks for it, or a network namespace of the guest's own."""
import ctypes
import fcntl
import os
import struct

from .hostlibc import libc
from .tables.unistd import NR_X86_64

# --- the network's privileges ----------------------------------------------------------
# A guest run by root would otherwise hold the host's CAP_NET_ADMIN and
# CAP_NET_RAW: netlink changes, raw and packet sockets, SIOCSIF* ioctls,
# SO_MARK... Rather than parse every message, sysgate gives those powers up
# itself, so the host kernel answers each request exactly as it answers a
# process without them (EPERM in the netlink ACK, at socket(), at
# setsockopt): every way in (sendmsg, write, sendfile on a netlink socket)
# is covered. CAP_SYS_MODULE goes too: with it, an interface name in any
# SIOCGIF* ioctl makes the host load a module of that name (dev_load).
# Dropping from the effective, permitted and inheritable sets (and the
# ambient one) is enough: guests never make the host exec, and only an exec
# could raise them again.
NET_MODES = ("host", "admin", "none")
CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_MODULE = 12, 13, 16
NET_CAPS = (CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_MODULE)
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
SYS_capget, SYS_capset, SYS_unshare = (NR_X86_64[n] for n in ("capget", "capset", "unshare"))
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def _drop_caps(caps):
    """Remove caps (all, when None) from this process's capability sets;
    nothing to do (the usual case without root) makes no call."""
    hdr = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()           # {effective, permitted, inheritable} x 2
    if libc.syscall(ctypes.c_long(SYS_capget), hdr, data) < 0:
        raise OSError(ctypes.get_errno(), "capget")
    keep = [0, 0] if caps is None else [0xFFFFFFFF, 0xFFFFFFFF]
    for c in caps or ():
        keep[c // 32] &= ~(1 << c % 32)
    held = any(data[i] & ~keep[i // 3] for i in range(6))
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    if not held:
        return
    for i in range(6):
        data[i] &= keep[i // 3]
    if libc.syscall(ctypes.c_long(SYS_capset), hdr, data) < 0:
        raise OSError(ctypes.get_errno(), "capset")


def _private_netns():
    """A fresh network namespace of the host kernel for this process (and so
    every guest process after it), with its loopback up. Without root, a
    user namespace first, mapping only our own ids, so the guest's ids
    stay what they were."""
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWNET if uid == 0 else CLONE_NEWUSER | CLONE_NEWNET
    if libc.syscall(ctypes.c_long(SYS_unshare), ctypes.c_long(flags)) < 0:
        raise OSError(ctypes.get_errno(), "cannot make a network namespace (unshare)")
    if uid:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                           ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    import socket       # here: the socket module costs every start some milliseconds
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = bytearray(struct.pack("16sh", b"lo", 0).ljust(40, b"\0"))
        fcntl.ioctl(s, SIOCGIFFLAGS, ifr)
        struct.pack_into("h", ifr, 16, struct.unpack_from("h", ifr, 16)[0] | IFF_UP)
        fcntl.ioctl(s, SIOCSIFFLAGS, ifr)


def setup_network(mode):
    """Give the guest the network its user asked for (--net): the host's
    without the power to configure it (host), the host's with whatever
    power sysgate holds (admin), or a namespace of its own with only a
    loopback (none). Raises OSError when the namespace cannot be made."""
    if mode not in NET_MODES:
        raise ValueError(mode)
    if mode == "admin":
        return
    in_userns = mode == "none" and os.geteuid() != 0
    if mode == "none":
        _private_netns()
    # Root keeps its other powers (credentials are another model's); the
    # full set a new user namespace gives, which the user never had, goes.
    _drop_caps(None if in_userns else NET_CAPS)
