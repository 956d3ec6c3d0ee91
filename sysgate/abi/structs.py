"""The structures whose layout differs between the ABIs, declared once per
ABI, and the typed user-memory accessors that read and write them: a
handler names the structure and gets its fields, never packing bytes or
checking protections itself. Every access faults cleanly (EFAULT)."""
import struct

from ..kernel.errors import KernelError, E
from .consts import PROT_WRITE, UIO_MAXIOV


class Layout:
    """One ABI's C structure: its fields in order and their packing."""
    __slots__ = ("name", "fields", "st", "cut", "masks", "size", "offset")

    def __init__(self, name, fields, fmt):
        self.name, self.fields = name, tuple(fields.split())
        self.st = struct.Struct("<" + fmt)
        self.size = self.st.size
        # For a copy-out that cuts each value to its field's width, as the
        # compat copy-outs do (a 64-bit count into a 32-bit long).
        self.cut = struct.Struct("<" + fmt.upper().replace("X", "x"))
        # Where each field sits, for a call that writes back one of them.
        self.offset, masks, at, names = {}, [], 0, iter(self.fields)
        for code in _codes(fmt):
            n = struct.calcsize("<" + code)
            if not code.endswith("x"):
                self.offset[next(names)] = at
                masks.append((1 << 8 * n) - 1)
            at += n
        self.masks = tuple(masks)


def _codes(fmt):
    """A struct format's items, each with its count ("4x", "q"): re's
    findall of \\d*[a-zA-Z], without importing re at every start."""
    count = ""
    for ch in fmt:
        if "0" <= ch <= "9":
            count += ch
        else:
            if ch.isalpha():
                yield count + ch
            count = ""


def _abi(word, long, ptr):
    L, P = long, ptr
    return {
        "timespec": Layout("timespec", "sec nsec", f"{L}{L}"),
        "timespec64": Layout("timespec64", "sec nsec", "qq"),
        "timeval": Layout("timeval", "sec usec", f"{L}{L}"),
        "utimbuf": Layout("utimbuf", "actime modtime", f"{L}{L}"),
        "itimerspec": Layout("itimerspec", "isec insec sec nsec", f"{L}{L}{L}{L}"),
        "itimerspec64": Layout("itimerspec64", "isec insec sec nsec", "qqqq"),
        "itimerval": Layout("itimerval", "isec iusec sec usec", f"{L}{L}{L}{L}"),
        "tms": Layout("tms", "utime stime cutime cstime", f"{L}{L}{L}{L}"),
        "sigevent": Layout("sigevent", "value signo notify", f"{P}ii"),
        "rseq": Layout("rseq", "cpu_id_start cpu_id rseq_cs flags node_id mm_cid", "IIQIII"),
        "cap_header": Layout("cap_header", "version pid", "Ii"),
        "iovec": Layout("iovec", "base len", f"{P}{P}"),
        "msghdr": Layout("msghdr", "name namelen iov iovlen control controllen flags",
                         f"{P}I4x{P}{P}{P}{P}i4x" if word == 8 else "IIIIIIi"),
        "mmsghdr": Layout("mmsghdr", "name namelen iov iovlen control controllen flags len",
                          f"{P}I4x{P}{P}{P}{P}i4xI4x" if word == 8 else "IIIIIIiI"),
        "cmsghdr": Layout("cmsghdr", "len level type", f"{P}ii"),
        "stack_t": Layout("stack_t", "sp flags size", f"{P}i4x{P}" if word == 8 else "IiI"),
        # The kernel's own sigaction (rt_sigaction's; glibc's differs), and
        # i386's old one (sigaction(2): a 32-bit mask before the flags).
        "sigaction": Layout("sigaction", "handler flags restorer mask", f"{P}{P}{P}Q"),
        "old_sigaction": Layout("old_sigaction", "handler mask flags restorer", "IIII"),
        "sigset": Layout("sigset", "mask", "Q"),
        "word": Layout("word", "value", P),
        "int": Layout("int", "value", "i"),
        "int2": Layout("int2", "a b", "ii"),
        "u16": Layout("u16", "value", "H"),
        "u32": Layout("u32", "value", "I"),
        "loff": Layout("loff", "value", "q"),
        "off": Layout("off", "value", L),
    }


LAYOUTS = {"x86_64": _abi(8, "q", "Q"), "i386": _abi(4, "i", "I")}

# System V IPC (include/uapi/asm-generic/{ipc,msg,sem,shm}buf.h, x86's
# sembuf.h, and the compat_* forms an x86-64 kernel gives i386). Each
# structure's fields are named as its members, less the prefix; an i386
# time's upper half (Linux 5.1's *_high) is its field's name with "_hi".
# The "old" forms are the i386 ipc() multiplexer's without IPC_64: 16-bit
# ids, 16-bit counts.
_PERM = "key uid gid cuid cgid mode seq "
_IPC = {
    "x86_64": {
        "msqid64_ds": (_PERM + "stime rtime ctime cbytes qnum qbytes lspid lrpid",
                       "iIIIIIH2x4x16x" "qqqQQQii16x"),
        "semid64_ds": (_PERM + "otime ctime nsems", "iIIIIIH2x4x16x" "q8xq8xQ16x"),
        "shmid64_ds": (_PERM + "segsz atime dtime ctime cpid lpid nattch",
                       "iIIIIIH2x4x16x" "QqqqiiQ16x"),
        "shminfo64": ("shmmax shmmin shmmni shmseg shmall", "QQQQQ32x"),
        "shm_info": ("used_ids shm_tot shm_rss shm_swp swap_attempts swap_successes",
                     "i4xQQQQQ"),
    },
    "i386": {
        "msqid64_ds": (_PERM + "stime stime_hi rtime rtime_hi ctime ctime_hi cbytes qnum "
                       "qbytes lspid lrpid", "iIIIIH2xH2x8x" "IIIIIIIIIii8x"),
        "semid64_ds": (_PERM + "otime otime_hi ctime ctime_hi nsems",
                       "iIIIIH2xH2x8x" "IIIII8x"),
        "shmid64_ds": (_PERM + "segsz atime atime_hi dtime dtime_hi ctime ctime_hi cpid lpid "
                       "nattch", "iIIIIH2xH2x8x" "IIIIIIIiiI8x"),
        "shminfo64": ("shmmax shmmin shmmni shmseg shmall", "IIIII16x"),
        "shm_info": ("used_ids shm_tot shm_rss shm_swp swap_attempts swap_successes",
                     "iIIIII"),
        "msqid_ds": (_PERM + "stime rtime ctime lcbytes lqbytes cbytes qnum qbytes lspid "
                     "lrpid", "iHHHHHH" "8xiiiIIHHHHH2x"),
        "semid_ds": (_PERM + "otime ctime nsems", "iHHHHHH" "ii16xH2x"),
        "shmid_ds": (_PERM + "segsz atime dtime ctime cpid lpid nattch",
                     "iHHHHHH" "iiiiHHH2x8x"),
        "shminfo": ("shmmax shmmin shmmni shmseg shmall", "iiiii"),
    },
}
for _abi_name, _structs in _IPC.items():
    for _name, (_fields, _fmt) in _structs.items():
        LAYOUTS[_abi_name][_name] = Layout(_name, _fields, _fmt)
# The 64-bit time_t forms i386's *_time64 calls take are x86-64's own.
LAYOUTS["i386"]["timespec64"] = LAYOUTS["x86_64"]["timespec"]
LAYOUTS["i386"]["itimerspec64"] = LAYOUTS["x86_64"]["itimerspec"]


def layout(t, name):
    """The task's ABI's layout of structure name."""
    return LAYOUTS[t.abi][name]


def read_struct(t, ptr, name):
    """The fields of the structure at ptr, as a tuple."""
    lay = LAYOUTS[t.abi][name]
    return lay.st.unpack(t.mm.read(ptr, lay.size))


def write_struct(t, ptr, name, *values):
    lay = LAYOUTS[t.abi][name]
    t.mm.write(ptr, lay.st.pack(*values))


def write_cut(t, ptr, name, *values):
    """The structure at ptr, each value cut to its field's width."""
    lay = LAYOUTS[t.abi][name]
    t.mm.write(ptr, lay.cut.pack(*(v & m for v, m in zip(values, lay.masks))))


def write_field(t, ptr, name, field, fmt, value):
    """One field of the structure at ptr (fmt: its struct code)."""
    t.mm.write(ptr + LAYOUTS[t.abi][name].offset[field], struct.pack("<" + fmt, value))


def read_array(t, ptr, name, count):
    """count structures from ptr on, as a list of tuples."""
    lay = LAYOUTS[t.abi][name]
    raw = t.mm.read(ptr, count * lay.size) if count else b""
    return list(lay.st.iter_unpack(raw))


def write_array(t, ptr, name, rows):
    """Structures (tuples, or single values for one-field ones) from ptr on."""
    lay = LAYOUTS[t.abi][name]
    t.mm.write(ptr, b"".join(lay.st.pack(*(r if isinstance(r, tuple) else (r,)))
                             for r in rows))


def read_iovecs(t, ptr, count, limit=UIO_MAXIOV, errno=E.EINVAL):
    """(base, len) of an iovec array: more than limit is errno (EINVAL for
    readv, EMSGSIZE for a message), as is a length negative as ssize_t."""
    if count < 0 or count > limit:
        raise KernelError(errno)
    vecs = read_array(t, ptr, "iovec", count)
    sign = 63 if t.is64 else 31
    if any(n >> sign for _, n in vecs):
        raise KernelError(E.EINVAL)
    return vecs


def check_writable(t, ptr, n):
    """EFAULT unless all of [ptr, ptr+n) may be written (before a call
    that does something it cannot take back, such as making descriptors)."""
    if n and (ptr < 0 or ptr + n > t.mm.task_size or t.mm.extent(ptr, n, PROT_WRITE) < n):
        raise KernelError(E.EFAULT)


def join64(lo, hi):
    """A 64-bit signed value i386 passes in two registers (sys_ia32.c)."""
    v = (hi & 0xFFFFFFFF) << 32 | (lo & 0xFFFFFFFF)
    return v - (1 << 64) if v >> 63 else v
