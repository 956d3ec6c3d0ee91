"""Handler registration and the per-ABI system-call tables.

A handler is registered by the name Linux gives its call, with the kinds of
its arguments (which fix its arity and how each register value is read, and
which the trace printer uses), a support status and a note, as gVisor's
tables do. The tables themselves pair these names with the numbers in
tables/unistd.py, generated from the kernel headers.
"""
from dataclasses import dataclass

from .tables.unistd import NR_I386, NR_X86_64

# How each argument kind is read from a register (already cut to the ABI's
# word size): C int-sized kinds are 32 bits in both ABIs.
def _s32(v):
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def _u32(v):
    return v & 0xFFFFFFFF


def _s64(v):
    return v - (1 << 64) if v & (1 << 63) else v


def _raw(v):
    return v


KINDS = {
    "fd": _s32, "dirfd": _s32, "int": _s32, "pid": _s32, "sig": _s32, "how": _s32,
    "uint": _u32, "flags": _u32, "oflags": _u32, "mode": _u32, "prot": _u32, "mflags": _u32,
    "cmd": _u32, "clock": _s32, "which": _s32, "resource": _u32, "atflags": _s32,
    "long": "signed", "off": "signed", "ssize": "signed",
    "ptr": _raw, "buf": _raw, "obuf": _raw, "str": _raw, "path": _raw, "size": _raw,
    "ulong": _raw, "addr": _raw,
}


@dataclass
class Syscall:
    name: str
    fn: object
    kinds: tuple
    status: str = "supported"
    note: str = ""


HANDLERS = {}


def syscall(name, args="", status="supported", note=""):
    """Register the decorated function as the handler of system call name."""
    kinds = tuple(args.split())
    for k in kinds:
        if k not in KINDS:
            raise ValueError(f"{name}: unknown argument kind {k!r}")

    def register(fn):
        if name in HANDLERS:
            raise ValueError(f"{name} registered twice")
        HANDLERS[name] = Syscall(name, fn, kinds, status, note)
        return fn
    return register


# i386 numbers whose Linux name differs from the handler that serves them:
# the old ABI's calls, and those whose 64-bit arguments arrive split in two
# registers (Linux's compat_sys_ia32_*).
I386_ALIASES = {"mmap": "old_mmap", "select": "old_select", "umount": "oldumount",
                "getgroups": "getgroups16", "getresuid": "getresuid16",
                "getresgid": "getresgid16",
                "setuid": "setuid16", "setgid": "setgid16", "setreuid": "setreuid16",
                "setregid": "setregid16", "setresuid": "setresuid16",
                "setresgid": "setresgid16", "setfsuid": "setfsuid16", "setfsgid": "setfsgid16",
                "setgroups": "setgroups16",
                "setuid32": "setuid", "setgid32": "setgid", "setreuid32": "setreuid",
                "setregid32": "setregid", "setresuid32": "setresuid",
                "setresgid32": "setresgid", "setfsuid32": "setfsuid", "setfsgid32": "setfsgid",
                "setgroups32": "setgroups",
                "pread64": "ia32_pread64", "pwrite64": "ia32_pwrite64",
                "fadvise64": "ia32_fadvise64", "fallocate": "ia32_fallocate",
                "readahead": "ia32_readahead", "sync_file_range": "ia32_sync_file_range"}


# Numbers the x86-64 table lists without an entry point (sys_ni_syscall):
# the GDT TLS calls are i386's; 64-bit code sets %fs with arch_prctl.
X86_64_UNIMPLEMENTED = frozenset(("set_thread_area", "get_thread_area", "uselib",
                                  "create_module", "get_kernel_syms", "query_module",
                                  "nfsservctl", "getpmsg", "putpmsg", "afs_syscall",
                                  "tuxcall", "security", "epoll_ctl_old",
                                  "epoll_wait_old", "vserver"))


@dataclass
class Entry:
    nr: int
    name: str
    call: Syscall
    convert: tuple       # one function per argument
    fn: object = None    # call.fn, one attribute lookup nearer the hot path


def build_table(abi):
    """A list indexed by number: Entry, or None where nothing is implemented."""
    is64 = abi == "x86_64"
    numbers = NR_X86_64 if is64 else NR_I386
    signed = _s64 if is64 else _s32
    # i386 registers arrive with whatever a 64-bit caller of INT 0x80 left in
    # the upper halves: every i386 argument is cut to 32 bits.
    raw = _raw if is64 else _u32
    table = [None] * (max(numbers.values()) + 1)
    for name, nr in numbers.items():
        call = HANDLERS.get(name if is64 else I386_ALIASES.get(name, name))
        if call is None or (is64 and name in X86_64_UNIMPLEMENTED):
            continue
        conv = tuple(signed if KINDS[k] == "signed" else raw if KINDS[k] is _raw else KINDS[k]
                     for k in call.kinds)
        table[nr] = Entry(nr, name, call, conv, call.fn)
    return table


def names(abi):
    """Number -> Linux name, for every number the headers define."""
    numbers = NR_X86_64 if abi == "x86_64" else NR_I386
    return {nr: name for name, nr in numbers.items()}
