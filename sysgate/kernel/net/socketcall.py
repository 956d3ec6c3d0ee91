"""i386's multiplexer: socketcall(call, args) reaches the call's own handler,
its arguments read from the array and converted as the call's
registration says (a C int sign-extended, the rest as they are)."""
import struct

from ...abi import consts
from ..errors import KernelError, E
from ..registry import dispatch, syscall

# The multiplexer's numbers (linux/net.h's SYS_*) -> the calls they make.
_CALLS = {getattr(consts, "SYS_" + name.upper()): name for name in (
    "socket", "bind", "connect", "listen", "accept", "getsockname", "getpeername",
    "socketpair", "send", "recv", "sendto", "recvfrom", "shutdown", "setsockopt",
    "getsockopt", "sendmsg", "recvmsg", "accept4", "recvmmsg", "sendmmsg")}
_HANDLERS = {}


@syscall("socketcall", "int ptr")
def sys_socketcall(t, number, args):
    if number not in _CALLS:
        raise KernelError(E.EINVAL)
    if number not in _HANDLERS:
        _HANDLERS[number] = dispatch("i386", _CALLS[number])
    fn, conv = _HANDLERS[number]
    vals = struct.unpack(f"<{len(conv)}I", t.mm.read(args, 4 * len(conv)))
    return fn(t, *[c(v) for c, v in zip(conv, vals)])
