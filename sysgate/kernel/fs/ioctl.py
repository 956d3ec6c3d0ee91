"""ioctl: terminals and ptys, answered by the host's own tty."""
import fcntl as _fcntl
import os
import stat

from ...abi.consts import (FIOASYNC, FIOCLEX, FIONBIO, FIONCLEX, FIONREAD, O_CLOEXEC, TCFLSH,
                           TCGETA, TCGETS, TCSBRK, TCSBRKP, TCSETA, TCSETAF, TCSETAW, TCSETS,
                           TCSETSF, TCSETSW, TCXONC, TIOCCBRK, TIOCCONS, TIOCEXCL, TIOCGETD,
                           TIOCGEXCL, TIOCGPGRP, TIOCGPKT, TIOCGPTLCK, TIOCGPTN, TIOCGPTPEER,
                           TIOCGSID, TIOCGWINSZ, TIOCLINUX, TIOCMBIC, TIOCMBIS, TIOCMGET,
                           TIOCMSET, TIOCNOTTY, TIOCNXCL, TIOCOUTQ, TIOCPKT, TIOCSBRK,
                           TIOCSCTTY, TIOCSETD, TIOCSPGRP, TIOCSPTLCK, TIOCSTI, TIOCSWINSZ,
                           TIOCVHANGUP)
from ...abi.structs import check_writable
from ..errors import KernelError, E
from ..registry import syscall


# Only the requests listed are passed on, with the argument sizes the tty
# layer uses (the same in both ABIs): an unknown request could reach a
# driver with a guest pointer sysgate cannot size.
TCGETS2, TCSETS2, TCSETSW2, TCSETSF2 = 0x802C542A, 0x402C542B, 0x402C542C, 0x402C542D
_IOCTL_OUT = {TCGETS: 36, TIOCGWINSZ: 8, TIOCGPGRP: 4, FIONREAD: 4, TCGETA: 20, TIOCOUTQ: 4,
              TIOCGETD: 4, TIOCGSID: 4, TCGETS2: 44, TIOCGPTN: 4, TIOCGPKT: 4, TIOCGPTLCK: 4,
              TIOCGEXCL: 4, TIOCMGET: 4}
_IOCTL_IN = {TCSETS: 36, TCSETSW: 36, TCSETSF: 36, TIOCSWINSZ: 8, FIONBIO: 4,
             TCSETA: 20, TCSETAW: 20, TCSETAF: 20, TIOCSPGRP: 4, TIOCSETD: 4,
             TCSETS2: 44, TCSETSW2: 44, TCSETSF2: 44, TIOCSPTLCK: 4, TIOCPKT: 4, FIOASYNC: 4,
             TIOCMBIS: 4, TIOCMBIC: 4, TIOCMSET: 4}
# Requests whose argument is a plain integer (or unused).
_IOCTL_VALUE = {TCSBRK, TCXONC, TCFLSH, TIOCEXCL, TIOCNXCL, TIOCSCTTY, TIOCNOTTY, TCSBRKP,
                TIOCSBRK, TIOCCBRK}
# Requests that act on the host beyond the guest's terminal: pushing input
# into a terminal (the user's shell, when the guest shares it), taking the
# console, hanging up. Linux refuses them without CAP_SYS_ADMIN (TIOCSTI
# also when dev.tty.legacy_tiocsti is off).
_IOCTL_REFUSED = {TIOCSTI: E.EIO, TIOCCONS: E.EPERM, TIOCLINUX: E.EPERM,
                  TIOCVHANGUP: E.EPERM}


@syscall("ioctl", "file cmd ulong")
def sys_ioctl(t, f, cmd, arg):
    h = f.host
    if cmd in _IOCTL_OUT:
        n = _IOCTL_OUT[cmd]
        check_writable(t, arg, n)
        t.mm.write(arg, _fcntl.ioctl(h, cmd, bytes(n)))
        return 0
    if cmd in _IOCTL_IN:
        _fcntl.ioctl(h, cmd, t.mm.read(arg, _IOCTL_IN[cmd]))
        return 0
    if cmd in _IOCTL_VALUE:
        return _fcntl.ioctl(h, cmd, arg & 0xFFFFFFFF)
    if cmd in (FIOCLEX, FIONCLEX):
        f.cloexec = cmd == FIOCLEX       # the guest's descriptor flag, not the host's
        return 0
    if cmd == TIOCGPTPEER:
        peer = _fcntl.ioctl(h, cmd, (arg & 0xFFFFFFFF) | O_CLOEXEC)
        return t.files.install(peer, cloexec=bool(arg & O_CLOEXEC))
    if cmd in _IOCTL_REFUSED and stat.S_ISCHR(os.fstat(h).st_mode):
        raise KernelError(_IOCTL_REFUSED[cmd])
    from ..sockioctl import socket_ioctl    # interfaces, routes, ARP: the socket's own
    r = socket_ioctl(t, h, cmd, arg)
    if r is not None:
        return r
    os.fstat(h)
    raise KernelError(E.ENOTTY)
