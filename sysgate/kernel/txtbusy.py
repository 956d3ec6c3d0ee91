"""ETXTBSY: execve refuses a file that some process has open for writing
(deny_write_access on the inode's writers). Nothing short of an exec asks
the host kernel that question, so it is asked with one: the host's own
execveat of the file, given an argv pointer that cannot be read. Linux opens
the file (do_open_execat, where write access is denied) before it counts
argv, so the call ends there with ETXTBSY, or later with EFAULT, always
before anything of this process is replaced."""
import ctypes

from .errors import KernelError, E
from .hostlibc import libc
from .tables.unistd import NR_X86_64

NR_EXECVEAT = NR_X86_64["execveat"]           # the host's
AT_EMPTY_PATH = 0x1000
_UNREADABLE = ctypes.c_void_p(1)


def check(path_fd):
    """Raise ETXTBSY if the file at host descriptor path_fd is open for
    writing anywhere."""
    r = libc.syscall(ctypes.c_long(NR_EXECVEAT), ctypes.c_int(path_fd), b"", _UNREADABLE,
                     _UNREADABLE, ctypes.c_int(AT_EMPTY_PATH))
    if r < 0 and ctypes.get_errno() == E.ETXTBSY:
        raise KernelError(E.ETXTBSY)
