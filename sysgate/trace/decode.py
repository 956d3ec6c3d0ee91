"""Argument decoding in strace's style, driven by the argument kinds each
handler registers (sysgate.kernel.registry), never by handler code."""
import errno
import os
import struct

from ..abi.consts import AT_FDCWD
from ..kernel.errors import KernelError
from .names import SIGNALS
from .structs import dirent_count, summarise

FLAG_NAMES = {
    "oflags": [(0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"),
               (0o2000, "O_APPEND"), (0o4000, "O_NONBLOCK"), (0o10000, "O_DSYNC"),
               (0o20000, "O_ASYNC"), (0o40000, "O_DIRECT"), (0o100000, "O_LARGEFILE"),
               (0o200000, "O_DIRECTORY"), (0o400000, "O_NOFOLLOW"), (0o1000000, "O_NOATIME"),
               (0o2000000, "O_CLOEXEC"), (0o4000000, "O_SYNC"), (0o10000000, "O_PATH"),
               (0o20000000, "O_TMPFILE")],
    "prot": [(1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC"),
             (0x01000000, "PROT_GROWSDOWN"), (0x02000000, "PROT_GROWSUP")],
    "mflags": [(0x10, "MAP_FIXED"), (0x20, "MAP_ANONYMOUS"), (0x40, "MAP_32BIT"),
               (0x100, "MAP_GROWSDOWN"), (0x800, "MAP_DENYWRITE"), (0x1000, "MAP_EXECUTABLE"),
               (0x2000, "MAP_LOCKED"), (0x4000, "MAP_NORESERVE"), (0x8000, "MAP_POPULATE"),
               (0x10000, "MAP_NONBLOCK"), (0x20000, "MAP_STACK"), (0x40000, "MAP_HUGETLB"),
               (0x80000, "MAP_SYNC"), (0x100000, "MAP_FIXED_NOREPLACE")],
    "atflags": [(0x100, "AT_SYMLINK_NOFOLLOW"), (0x200, "AT_REMOVEDIR"),
                (0x400, "AT_SYMLINK_FOLLOW"), (0x800, "AT_NO_AUTOMOUNT"),
                (0x1000, "AT_EMPTY_PATH")],
}
CLOCKS = ["CLOCK_REALTIME", "CLOCK_MONOTONIC", "CLOCK_PROCESS_CPUTIME_ID",
          "CLOCK_THREAD_CPUTIME_ID", "CLOCK_MONOTONIC_RAW", "CLOCK_REALTIME_COARSE",
          "CLOCK_MONOTONIC_COARSE", "CLOCK_BOOTTIME", "CLOCK_REALTIME_ALARM",
          "CLOCK_BOOTTIME_ALARM", None, "CLOCK_TAI"]
# Command numbers strace names (asm-generic/ioctls.h, fcntl.h, asm/prctl.h).
COMMANDS = {
    "ioctl": {0x5401: "TCGETS", 0x5402: "TCSETS", 0x5403: "TCSETSW", 0x5404: "TCSETSF",
              0x540F: "TIOCGPGRP", 0x5410: "TIOCSPGRP", 0x5413: "TIOCGWINSZ",
              0x5414: "TIOCSWINSZ", 0x541B: "FIONREAD", 0x5421: "FIONBIO"},
    "fcntl": {0: "F_DUPFD", 1: "F_GETFD", 2: "F_SETFD", 3: "F_GETFL", 4: "F_SETFL",
              5: "F_GETLK", 6: "F_SETLK", 7: "F_SETLKW", 1030: "F_DUPFD_CLOEXEC",
              1031: "F_SETPIPE_SZ", 1032: "F_GETPIPE_SZ"},
    "arch_prctl": {0x1001: "ARCH_SET_GS", 0x1002: "ARCH_SET_FS", 0x1003: "ARCH_GET_FS",
                   0x1004: "ARCH_GET_GS", 0x3001: "ARCH_CET_STATUS"},
}
COMMANDS["fcntl64"] = COMMANDS["fcntl"]
# Calls whose result is an address, printed in hex as strace does.
ADDRESS_RESULTS = {"mmap", "mmap2", "old_mmap", "mremap", "brk", "shmat"}


def signame(n):
    if 1 <= n <= len(SIGNALS):
        return SIGNALS[n - 1]
    if 32 <= n <= 64:
        return f"SIGRT_{n - 32}"
    return str(n)


def flags(value, table, zero="0"):
    parts, rest = [], value
    for bit, name in table:
        if rest & bit:
            parts.append(name)
            rest &= ~bit
    if rest or not parts:
        parts.append(hex(rest) if parts or rest else zero)
    return "|".join(parts)


def quote(data, limit, truncated=False):
    out = []
    for b in data[:limit]:
        c = chr(b)
        if c in '"\\':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append(f"\\{b:o}")
    more = truncated or len(data) > limit
    return '"' + "".join(out) + '"' + ("..." if more else "")


def _pointer(v):
    return "NULL" if v == 0 else hex(v)


def _string(mm, ptr, limit):
    if ptr == 0:
        return "NULL"
    try:
        s = mm.read_cstr(ptr, 4096)
    except KernelError:
        return hex(ptr)
    return quote(s, limit)


def _buffer(mm, ptr, n, limit):
    if ptr == 0:
        return "NULL"
    try:
        return quote(mm.read(ptr, min(n, limit)), limit, truncated=n > limit)
    except KernelError:
        return hex(ptr)


def _iovec(mm, addr, count, limit, budget, is64):
    word = 8 if is64 else 4
    fmt = "<QQ" if is64 else "<II"
    parts = []
    try:
        for i in range(min(count, 1024)):
            base, length = struct.unpack(fmt, mm.read(addr + 2 * word * i, 2 * word))
            if budget is None:
                shown = length
            else:
                shown, budget = min(length, budget), budget - min(length, budget)
            parts.append(f"{{iov_base={_buffer(mm, base, shown, limit)}, iov_len={length}}}")
    except KernelError:
        return hex(addr)
    return "[" + ", ".join(parts) + "]"


def decode_args(name, kinds, args, result, mm, strsize=32, is64=True):
    """The argument list as strace would print it."""
    out = []
    for i, (k, v) in enumerate(zip(kinds, args)):
        size = next((args[j] for j in range(i + 1, len(kinds)) if kinds[j] in ("size", "int")),
                    None)
        if k == "how" and name in ("rt_sigprocmask", "sigprocmask") and 0 <= v <= 2:
            out.append(("SIG_BLOCK", "SIG_UNBLOCK", "SIG_SETMASK")[v])
        elif k in ("fd", "int", "pid", "how", "which", "long", "off", "ssize", "uint",
                 "size", "ulong", "resource", "cmd"):
            out.append(str(v))
        elif k == "dirfd":
            out.append("AT_FDCWD" if v == AT_FDCWD else str(v))
        elif k in ("path", "str"):
            out.append(_string(mm, v, 4096 if k == "path" else strsize))
        elif k == "buf":
            out.append(_buffer(mm, v, size or 0, strsize))
        elif k == "obuf":
            out.append(_buffer(mm, v, result, strsize) if result is not None and result >= 0
                       else _pointer(v))
        elif k == "mode":
            out.append(f"0{v:o}" if v else "000")
        elif k == "oflags":
            acc = ("O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE")[v & 3]
            rest = flags(v & ~3, FLAG_NAMES["oflags"], "")
            out.append(acc + ("|" + rest if rest else ""))
        elif k in FLAG_NAMES:
            out.append(flags(v, FLAG_NAMES[k]))
        elif k == "mflags":
            out.append(flags(v, FLAG_NAMES["mflags"]))
        elif k == "clock":
            out.append(CLOCKS[v] if 0 <= v < len(CLOCKS) and CLOCKS[v] else str(v))
        elif k == "sig":
            out.append(signame(v) if v else "0")
        elif k == "flags":
            out.append(hex(v) if v else "0")
        else:
            out.append(_pointer(v))
    if name in ("writev", "readv", "pwritev", "preadv", "pwritev2", "preadv2") and len(out) >= 3:
        # readv's buffers hold data only after the call, up to its result.
        budget = None if name.startswith(("writev", "pwritev")) else max(result or 0, 0)
        out[1] = _iovec(mm, args[1], args[2], strsize, budget, is64)
    summarise(name, args, result, mm, is64, out)
    if name == "getcwd" and out and result is not None and result > 0:
        out[0] = _string(mm, args[0], 4096)         # the NUL is counted, not shown
    if name in ("getdents64", "getdents") and len(out) > 1 and result is not None \
            and result >= 0:
        n = dirent_count(mm, args[1], result, name == "getdents64", is64)
        out[1] = f"{_pointer(args[1])} /* {n} entries */"
    if name in COMMANDS:
        i = 0 if name == "arch_prctl" else 1
        if len(out) > i:
            out[i] = COMMANDS[name].get(args[i] & 0xFFFFFFFF, out[i])
        if name == "ioctl" and len(out) > 2:
            out[2] = _pointer(args[2])
        if name == "arch_prctl" and len(out) > 1:
            out[1] = _pointer(args[1])
    if name in ("mmap", "mmap2") and len(out) >= 4:
        kind = args[3] & 0xF
        share = {1: "MAP_SHARED", 2: "MAP_PRIVATE", 3: "MAP_SHARED_VALIDATE"}.get(kind, hex(kind))
        rest = flags(args[3] & ~0xF, FLAG_NAMES["mflags"], "")
        out[3] = share + ("|" + rest if rest else "")
    return out


RESTART_TEXT = {512: "ERESTARTSYS (To be restarted if SA_RESTART is set)",
                513: "ERESTARTNOINTR (To be restarted)",
                514: "ERESTARTNOHAND (To be restarted if no handler)",
                516: "ERESTART_RESTARTBLOCK (Interrupted by signal)"}


def result_text(name, result):
    if result is None:
        return "?"
    if -result in RESTART_TEXT:
        return "? " + RESTART_TEXT[-result]
    if -4095 <= result < 0:
        e = -result
        return f"-1 {errno.errorcode.get(e, str(e))} ({os.strerror(e)})"
    if name in ADDRESS_RESULTS:
        return hex(result)
    if name == "umask":
        return "0" + format(result, "o").zfill(2)      # strace's %#03o: 022
    return str(result)
