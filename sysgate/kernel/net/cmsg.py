"""Control messages, in each ABI's layout, and the descriptors they pass
(SCM_RIGHTS: guest descriptors out, new guest descriptors in)."""
import os
import struct

from ...abi.consts import SOL_SOCKET
from ...abi.structs import LAYOUTS
from ..errors import KernelError, E
from .base import INT_MAX, OPTMEM_MAX

# include/linux/socket.h (not uapi)
SCM_RIGHTS, MSG_CTRUNC, MSG_CMSG_CLOEXEC = 1, 0x8, 0x40000000
# The header of each ABI, by its word (the host's is x86-64's).
_HDR = {8: LAYOUTS["x86_64"]["cmsghdr"].st, 4: LAYOUTS["i386"]["cmsghdr"].st}


def _cmsgs(raw, word, strict=False):
    """[(level, type, data)] of a control buffer whose headers and
    alignment are the ABI's (word: 8 on x86-64, 4 for i386). strict: a
    header whose length does not fit is EINVAL (CMSG_OK), as for a send."""
    hdr = _HDR[word]
    out, at = [], 0
    while at + hdr.size <= len(raw):
        length, level, kind = hdr.unpack_from(raw, at)
        if length < hdr.size or at + length > len(raw):
            if strict:
                raise KernelError(E.EINVAL)
            break
        out.append((level, kind, raw[at + hdr.size:at + length]))
        at += (length + word - 1) & ~(word - 1)
    return out


def _pack_cmsg(level, kind, data, word):
    hdr = _HDR[word]
    body = hdr.pack(hdr.size + len(data), level, kind) + data
    return body + b"\0" * (-len(body) % word)


def _control_in(t, control, controllen):
    """The guest's control buffer for a send, read only once its size is
    one the host would take (____sys_sendmsg: ENOBUFS past INT_MAX or what
    sock_kmalloc gives; i386's headers are walked first, as
    cmsghdr_from_user_compat_to_kern walks them: EINVAL for a bad one or
    none at all)."""
    if controllen > INT_MAX:
        raise KernelError(E.ENOBUFS)
    if t.is64:
        if controllen >= OPTMEM_MAX:                 # sock_kmalloc's bound
            raise KernelError(E.ENOBUFS)
        return _cmsgs(t.mm.read(control, controllen), 8, strict=True)
    at = kcmlen = 0
    while control and controllen - at >= 12:      # a NULL buffer has no first header
        ucmlen = struct.unpack("<I", t.mm.read(control + at, 4))[0]
        if not 12 <= ucmlen <= controllen - at:
            raise KernelError(E.EINVAL)
        kcmlen += (ucmlen - 12 + 16 + 7) & ~7
        if kcmlen >= OPTMEM_MAX:
            raise KernelError(E.ENOBUFS)
        at += (ucmlen + 3) & ~3
    if not kcmlen:
        raise KernelError(E.EINVAL)
    return _cmsgs(t.mm.read(control, min(at, controllen)), 4)


def _max_fds(controllen, word):
    """scm_max_fds: how many descriptors the rest of the buffer holds, as
    the int Linux makes of it (so 2^62 bytes hold none: MSG_CTRUNC)."""
    hdr = 16 if word == 8 else 12
    if controllen <= hdr:
        return 0
    n = ((controllen - hdr) // 4) & 0xFFFFFFFF
    return n - (1 << 32) if n >> 31 else n


def _ints(body):
    return struct.unpack(f"<{len(body) // 4}i", body[:len(body) // 4 * 4])


def control_to_host(t, cmsgs):
    """A send's control messages in the host's layout, the descriptors
    SCM_RIGHTS passes made the host's (EBADF for one the guest lacks)."""
    ctl = b""
    for level, kind, body in cmsgs:
        if level == SOL_SOCKET and kind == SCM_RIGHTS:
            hosts = [t.files.get(gfd).host for gfd in _ints(body)]
            body = struct.pack(f"<{len(hosts)}i", *hosts)
        ctl += _pack_cmsg(level, kind, body, 8)
    return ctl


def control_to_guest(t, raw, controllen, flags):
    """(the guest's control buffer, whether it was cut: MSG_CTRUNC) for the
    host's messages raw; descriptors passed become the guest's own, as many
    as fit (the rest are closed, as scm_detach_fds leaves them)."""
    ctl, cut = b"", False
    for level, kind, body in _cmsgs(raw, 8):
        if level == SOL_SOCKET and kind == SCM_RIGHTS:
            hosts = list(_ints(body))
            fit = max(0, min(len(hosts), _max_fds(controllen - len(ctl), t.word)))
            if fit < len(hosts):
                cut = True
                for h in hosts[fit:]:
                    os.close(h)
            if not fit:
                continue
            gfds = [t.files.install(h, cloexec=bool(flags & MSG_CMSG_CLOEXEC),
                                    foreign=t.fs.is_foreign(h)) for h in hosts[:fit]]
            body = struct.pack(f"<{fit}i", *gfds)
        piece = _pack_cmsg(level, kind, body, t.word)
        if len(ctl) + len(piece) > controllen:
            cut = True
            continue
        ctl += piece
    return ctl, cut
