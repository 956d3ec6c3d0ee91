"""Sockets: each guest socket is a host socket, so Unix-domain peers and the
network are the host's own.

What the kernel model adds: Unix-domain socket *names* are file names, and
resolve inside the guest's root as every path does (bind creates the name
in the directory the guest's path leads to; connect and sendto reach the
socket file that path names, through its descriptor, never by a host path
a symlink could redirect). The name a guest bound is what getsockname
gives back. Blocking calls wait where signals and timers can interrupt
them (-ERESTARTSYS). i386 reaches all of it through socketcall too.

The package: base (what every socket call shares: the socket behind a
descriptor, waits, sizes), addr (addresses, and Unix names inside the
root), sockets (making, naming and connecting sockets), cmsg (control
messages, descriptors passed), msg (sending and receiving), sockopt, and
socketcall (i386's multiplexer).
"""
from .base import AF_INET, AF_UNIX, SOL_SOCKET  # noqa: F401
