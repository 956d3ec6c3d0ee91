"""Socket ioctls: interfaces, routes, ARP, timestamps and the int ones, each
passed to the host socket in the host's layout."""
import ctypes
import os
import stat
import struct

from .errors import KernelError, E
from .hostbuf import Plain, struct_in
from .hostlibc import call, libc
from .net import AF_INET, SOL_SOCKET

# --- socket ioctls: interfaces, routes, ARP ----------------------------------------------
# struct ifreq: a 16-byte name and a 16-byte union on i386, 24 on x86-64
# (struct ifmap has longs); the host's is always the 40-byte one. Which of
# these need privilege is the host kernel's to say (see setup_network), and
# so is the order of its answers: each structure goes to the host in memory
# that ends where the guest's does. Only ioctls whose structures hold no
# pointers are passed (a pointer would name sysgate's memory to the host),
# and a route's one pointer, its device name, is translated.
IFREQ_CMDS = frozenset((0x8910, 0x8913, 0x8914, 0x8915, 0x8916, 0x8917, 0x8918, 0x8919,
                        0x891a, 0x891b, 0x891c, 0x891d, 0x891e, 0x8921, 0x8922, 0x8923,
                        0x8924, 0x8927, 0x8931, 0x8932, 0x8933, 0x8934, 0x8935, 0x8936,
                        0x8937, 0x8942, 0x8943, 0x8970, 0x8971,
                        0x8929, 0x8930,                 # bonding's old slave calls
                        0x8947, 0x8948, 0x8949,         # MII registers, inline
                        0x89a2, 0x89a3))                # bridge ports, by index
# Those Linux copies back to the caller (the getters, and SIOCGIFNAME).
IFREQ_GET = frozenset((0x8910, 0x8913, 0x8915, 0x8917, 0x8919, 0x891b, 0x891d, 0x8921,
                       0x8927, 0x8933, 0x8935, 0x8942, 0x8970, 0x8929, 0x8947, 0x8948))
SIOCGIFCONF, SIOCGIFMAP, SIOCSIFMAP = 0x8912, 0x8970, 0x8971
SIOCSPGRP, SIOCGPGRP, SIOCATMARK, FIOSETOWN, FIOGETOWN, SIOCOUTQ, SIOCOUTQNSD = (
    0x8902, 0x8904, 0x8905, 0x8901, 0x8903, 0x5411, 0x894B)
INT_IN, INT_OUT = frozenset((SIOCSPGRP, FIOSETOWN)), frozenset((SIOCGPGRP, SIOCATMARK,
                                                                FIOGETOWN, SIOCOUTQ, SIOCOUTQNSD))
SIOCGSKNS = 0x894C         # the socket's network namespace, as a new descriptor
SIOCADDRT, SIOCDELRT = 0x890B, 0x890C
ARP_CMDS, SIOCGARP, ARPREQ = frozenset((0x8953, 0x8954, 0x8955)), 0x8954, 68
# SIOCGSTAMP(NS): the old ones in the ABI's own time layout, the new ones
# in 64-bit time on both.
STAMP_OLD, STAMP_NEW = frozenset((0x8906, 0x8907)), frozenset((0x80108906, 0x80108907))
SOCKET_IOCTLS = IFREQ_CMDS | INT_IN | INT_OUT | ARP_CMDS | STAMP_OLD | STAMP_NEW \
    | {SIOCGIFCONF, SIOCADDRT, SIOCDELRT, SIOCGSKNS}
HOST_IFREQ = 40
IFCONF_MAX = 1024                       # interfaces listed at most by one SIOCGIFCONF


def _ifreq_size(t):
    return HOST_IFREQ if t.is64 else 32


def _ifreq_to_host(t, cmd, raw):
    if t.is64:
        return bytes(raw)
    if cmd in (SIOCGIFMAP, SIOCSIFMAP):
        start, end, base, irq, dma, port = struct.unpack_from("<IIHBBB", raw, 16)
        return raw[:16] + struct.pack("<QQHBBB", start, end, base, irq, dma, port).ljust(24, b"\0")
    return raw.ljust(HOST_IFREQ, b"\0")


def _ifreq_to_guest(t, cmd, raw):
    if t.is64:
        return bytes(raw)
    if cmd in (SIOCGIFMAP, SIOCSIFMAP):
        start, end, base, irq, dma, port = struct.unpack_from("<QQHBBB", raw, 16)
        return bytes(raw[:16]) + struct.pack("<IIHBBB", start & 0xFFFFFFFF, end & 0xFFFFFFFF,
                                             base, irq, dma, port).ljust(16, b"\0")
    return bytes(raw[:32])


def _ifconf(t, host, arg):
    """SIOCGIFCONF: the host's list of ifreqs, each recast for the guest."""
    fmt = "<i4xQ" if t.is64 else "<iI"
    length, buf = struct.unpack(fmt, t.mm.read(arg, struct.calcsize(fmt)))
    size = _ifreq_size(t)
    count = min(max(length, 0) // size, IFCONF_MAX) if buf else 0
    hbuf = ctypes.create_string_buffer(max(count * HOST_IFREQ, 1))
    conf = struct.pack("<i4xQ", count * HOST_IFREQ if buf else 0,
                       ctypes.addressof(hbuf) if buf else 0)
    cbuf = ctypes.create_string_buffer(conf, len(conf))
    call("ioctl", host, SIOCGIFCONF, cbuf)
    got = struct.unpack_from("<i", cbuf.raw)[0] // HOST_IFREQ
    if buf:
        out = b"".join(_ifreq_to_guest(t, 0, hbuf.raw[i * HOST_IFREQ:(i + 1) * HOST_IFREQ])
                       for i in range(got))
        if out:
            t.mm.write(buf, out)
    t.mm.write(arg, struct.pack("<i", got * size))
    return 0


def _rtentry_to_host(t, raw):
    """A route (struct rtentry) in the host's layout, its device-name
    pointer apart: (bytes, rt_dev)."""
    if t.is64:
        return raw[:88] + bytes(8) + raw[96:], struct.unpack_from("<Q", raw, 88)[0]
    flags, metric = struct.unpack_from("<H", raw, 52)[0], struct.unpack_from("<h", raw, 64)[0]
    dev, mtu, window, irtt = struct.unpack_from("<IIIH", raw, 68)
    out = bytearray(120)
    out[8:56] = raw[4:52]
    struct.pack_into("<H", out, 56, flags)
    struct.pack_into("<h", out, 80, metric)
    struct.pack_into("<QQH", out, 96, mtu, window, irtt)
    return bytes(out), dev


def _route(t, host, cmd, arg):
    """SIOCADDRT/SIOCDELRT: the host sees the guest's route with its device
    name copied to host memory (fenced: Linux reads IFNAMSIZ-1 bytes of it,
    and only once it has found the caller privileged)."""
    raw = t.mm.read(arg, 120 if t.is64 else 84)
    rt, dev = _rtentry_to_host(t, raw)
    with struct_in(t, dev, 15) if dev else Plain(0) as name:
        rt = rt[:88] + struct.pack("<Q", name.addr if dev else 0) + rt[96:]
        buf = ctypes.create_string_buffer(rt, len(rt))
        return call("ioctl", host, ctypes.c_ulong(cmd), buf)


def _stamp(t, host, cmd, arg):
    out = ctypes.create_string_buffer(16)
    call("ioctl", host, ctypes.c_ulong(cmd), out)
    raw = out.raw
    if cmd in STAMP_OLD and not t.is64:
        raw = struct.pack("<ii", *struct.unpack("<qq", raw))
    t.mm.write(arg, raw)
    return 0


def _domain(host):
    v, n = ctypes.c_int(0), ctypes.c_uint32(4)
    libc.getsockopt(host, SOL_SOCKET, 39, ctypes.byref(v), ctypes.byref(n))     # SO_DOMAIN
    return v.value


# Old calls i386's compat layer still copies an ifreq for (then ENOTTY).
COMPAT_IFREQ_ONLY = frozenset((0x891f, 0x8920))
# Calls i386's compat layer does not know at all (ENOTTY at once).
COMPAT_UNKNOWN = frozenset((0x8929, 0x8930))


def _unknown(t, cmd, arg):
    """A socket ioctl sysgate does not pass on (its structure may hold
    pointers): as Linux answers one no layer knows, ENOTTY, after the
    generic path has copied an ifreq (x86-64; i386's compat layer refuses
    most at once)."""
    if t.is64:
        t.mm.read(arg, HOST_IFREQ)
    elif cmd in COMPAT_IFREQ_ONLY:
        t.mm.read(arg, 32)
    raise KernelError(E.ENOTTY)


def socket_ioctl(t, host, cmd, arg):
    """A socket's own ioctls, or None when cmd is not one (or host is not a
    socket)."""
    if cmd >> 8 != 0x89 and cmd not in SOCKET_IOCTLS:
        return None
    if not stat.S_ISSOCK(os.fstat(host).st_mode):
        return None
    if cmd in (SIOCADDRT, SIOCDELRT):
        if _domain(host) != AF_INET:
            _unknown(t, cmd, arg)
        return _route(t, host, cmd, arg)
    if cmd not in SOCKET_IOCTLS or not t.is64 and cmd in COMPAT_UNKNOWN:
        _unknown(t, cmd, arg)
    if cmd == SIOCGIFCONF:
        return _ifconf(t, host, arg)
    if cmd == SIOCGSKNS:
        # EPERM without CAP_NET_ADMIN; else a host descriptor, made the guest's.
        return t.files.install(call("ioctl", host, ctypes.c_ulong(cmd), None), cloexec=True)
    if cmd in STAMP_OLD or cmd in STAMP_NEW:
        return _stamp(t, host, cmd, arg)
    if cmd in ARP_CMDS:
        with struct_in(t, arg, ARPREQ) as buf:
            r = call("ioctl", host, ctypes.c_ulong(cmd), ctypes.c_void_p(buf.addr))
            if cmd == SIOCGARP:
                t.mm.write(arg, buf.get(ARPREQ))
            return r
    # An int, or an ifreq: the host may read a whole ifreq of either (the
    # generic path of a socket that lacks the int call).
    # i386's whole ifreq is 32 bytes: when those are there, so are the host's 40.
    convert = (lambda raw: raw.ljust(HOST_IFREQ, b"\0")) if cmd in INT_IN or cmd in INT_OUT \
        else (lambda raw: _ifreq_to_host(t, cmd, raw))
    with struct_in(t, arg, _ifreq_size(t), convert) as buf:
        r = call("ioctl", host, ctypes.c_ulong(cmd), ctypes.c_void_p(buf.addr))
        if cmd in INT_OUT:
            t.mm.write(arg, buf.get(4))
        elif cmd in IFREQ_GET:
            t.mm.write(arg, _ifreq_to_guest(t, cmd, buf.get(HOST_IFREQ)))
        return r
