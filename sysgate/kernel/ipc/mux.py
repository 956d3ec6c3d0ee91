"""i386's ipc(call, first, second, third, ptr, fifth): the old multiplexer
(compat_sys_ipc, ipc/syscall.c), with its quirks: call's upper 16 bits
are a version (msgrcv's 0 passes its buffer and type through struct
ipc_kludge; shmat's 1 is refused), the *ctl calls' cmd selects the old
structures unless it carries IPC_64, semctl's argument is read through
ptr, and shmat stores the address at third (a bad third leaves the
segment attached)."""
import struct

from ..errors import KernelError, E
from ..registry import syscall
from . import IPC_64, check_available
from .msg import do_msgctl, sys_msgget, sys_msgrcv, sys_msgsnd
from .sem import do_semctl, do_semtimedop, sys_semget
from .shm import do_shmat, do_shmctl, sys_shmdt, sys_shmget

SEMOP, SEMGET, SEMCTL, SEMTIMEDOP = 1, 2, 3, 4
MSGSND, MSGRCV, MSGGET, MSGCTL = 11, 12, 13, 14
SHMAT, SHMDT, SHMGET, SHMCTL = 21, 22, 23, 24


def _s32(v):
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >> 31 else v


@syscall("ipc", "uint int int uint ptr uint")
def sys_ipc(t, call, first, second, third, ptr, fifth):
    check_available()
    version, call = call >> 16, call & 0xFFFF
    if call == SEMOP:
        return do_semtimedop(t, first, ptr, second & 0xFFFFFFFF, 0)
    if call == SEMTIMEDOP:
        return do_semtimedop(t, first, ptr, second & 0xFFFFFFFF, fifth, "timespec")
    if call == SEMGET:
        return sys_semget(t, first, second, _s32(third))
    if call == SEMCTL:
        if not ptr:
            raise KernelError(E.EINVAL)
        (arg,) = struct.unpack("<I", t.mm.read(ptr, 4))
        cmd = _s32(third)
        return do_semctl(t, first, second, cmd & ~IPC_64, arg, old=not cmd & IPC_64)
    if call == MSGSND:
        return sys_msgsnd(t, first, ptr, second, _s32(third))
    if call == MSGRCV:
        if first < 0 or second < 0:
            raise KernelError(E.EINVAL)
        if version == 0:
            if not ptr:
                raise KernelError(E.EINVAL)
            msgp, msgtyp = struct.unpack("<Ii", t.mm.read(ptr, 8))
            return sys_msgrcv(t, first, msgp, second, msgtyp, _s32(third))
        return sys_msgrcv(t, first, ptr, second, _s32(fifth), _s32(third))
    if call == MSGGET:
        return sys_msgget(t, first, second)
    if call == MSGCTL:
        return do_msgctl(t, first, second & ~IPC_64, ptr, old=not second & IPC_64)
    if call == SHMAT:
        if version == 1:
            raise KernelError(E.EINVAL)
        addr = do_shmat(t, first, ptr, second)
        t.mm.write(third, struct.pack("<I", addr))
        return 0
    if call == SHMDT:
        return sys_shmdt(t, ptr)
    if call == SHMGET:
        return sys_shmget(t, first, second & 0xFFFFFFFF, _s32(third))
    if call == SHMCTL:
        return do_shmctl(t, first, second & ~IPC_64, ptr, old=not second & IPC_64)
    raise KernelError(E.ENOSYS)
