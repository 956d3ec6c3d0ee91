"""strace's -e trace= classes, as sets of Linux call names."""
FILE = {"open", "openat", "creat", "stat", "lstat", "newfstatat", "stat64", "lstat64",
        "fstatat64", "statx", "access", "faccessat", "faccessat2", "mkdir", "mkdirat", "rmdir",
        "unlink", "unlinkat", "rename", "renameat", "renameat2", "symlink", "symlinkat",
        "link", "linkat", "readlink", "readlinkat", "chdir", "chmod", "fchmodat", "truncate",
        "utimensat", "execve", "statfs"}
DESC = {"read", "write", "pread64", "pwrite64", "readv", "writev", "close", "dup", "dup2",
        "dup3", "pipe", "pipe2", "fcntl", "fcntl64", "ioctl", "lseek", "_llseek", "getdents64",
        "fstat", "fstat64", "fsync", "fdatasync", "ftruncate", "fchmod", "fchdir", "openat",
        "open", "creat", "mmap", "mmap2", "newfstatat", "statx", "fadvise64"}
MEMORY = {"brk", "mmap", "mmap2", "old_mmap", "munmap", "mprotect", "mremap", "madvise"}
PROCESS = {"exit", "exit_group", "execve", "fork", "vfork", "clone", "clone3", "wait4",
           "kill", "tkill", "tgkill"}
SIGNAL = {"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigreturn", "sigaltstack",
          "kill", "tkill", "tgkill", "rt_sigsuspend", "rt_sigpending", "pause", "alarm"}
NETWORK = {"socket", "socketcall", "connect", "accept", "accept4", "bind", "listen",
           "sendto", "recvfrom", "sendmsg", "recvmsg", "getsockopt", "setsockopt",
           "shutdown", "getsockname", "getpeername", "socketpair"}
IPC = {"ipc", "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semtimedop",
       "semtimedop_time64", "semctl", "shmget", "shmat", "shmdt", "shmctl"}
CLASSES = {"%file": FILE, "file": FILE, "%desc": DESC, "desc": DESC, "%memory": MEMORY,
           "memory": MEMORY, "%process": PROCESS, "process": PROCESS, "%signal": SIGNAL,
           "signal": SIGNAL, "%network": NETWORK, "network": NETWORK, "%ipc": IPC, "ipc": IPC}


def parse_trace_set(expr):
    """'trace=open,%file' (or the part after 'trace=') -> set of names, or
    None for all; a leading '!' negates."""
    if expr.startswith("trace="):
        expr = expr[len("trace="):]
    negate = expr.startswith("!")
    if negate:
        expr = expr[1:]
    if expr in ("all", ""):
        return None
    names = set()
    for item in expr.split(","):
        names |= CLASSES.get(item, {item})
    if negate:
        from ..kernel.tables.unistd import NR_I386, NR_X86_64
        return (set(NR_X86_64) | set(NR_I386) | {"old_mmap"}) - names
    return names
