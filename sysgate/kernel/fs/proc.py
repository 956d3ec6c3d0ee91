"""The guest's /proc: sysgate's model of the guest, entirely.

Every path that names something in a proc file system, whatever the route
(the lexical /proc, a proc mounted anywhere inside the root, a bind mount,
a symlink, a descriptor), is turned into its canonical guest name
"/proc/<rest>" (lookup.py does that, detecting procfs on the host fd it got
with fstatfs) and answered here, one component at a time, by node(). What
this model does not know is refused: nothing here ever opens the host's
/proc/<pid> of sysgate's own process but for a few read-only files that are
the same for the guest (mounts, cgroup, net/ ...), opened by a fixed name.

Nodes: directories (served to getdents64 from listing(), held open on a
private deleted directory), generated files (memfds), links (self,
thread-self, and the magic exe/cwd/root/fd/N), the guest's memory (mem,
procmem.py), host passthrough files and directories, and refusals."""
import os
import stat

from ...abi.consts import (O_ACCMODE, O_PATH, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS,
                           RESOLVE_NO_SYMLINKS, RESOLVE_NO_XDEV)
from ..errors import KernelError, E
from . import procinfo
from .procinfo import tids
from .path import openat2
from .prochost import (  # noqa: F401 (proc's names, as before)
    PROC_SUPER_MAGIC, is_procfs, canonical, backing_dir, link_fd, memfd, _host_proc_fd)

DT_DIR, DT_REG, DT_LNK = 4, 8, 10
_FIXED_NAME = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV


# --- nodes -----------------------------------------------------------------
class Node:
    """kind: dir, file, link, mem, host, denied. For a link, target is its
    text and file the guest's OpenFile behind fd/N; magic marks the links a
    path walk may not follow under RESOLVE_NO_MAGICLINKS."""
    __slots__ = ("kind", "path", "gen", "target", "file", "magic", "host", "errno")

    def __init__(self, kind, path, gen=None, target=None, file=None, magic=False, host=None,
                 errno=0):
        self.kind, self.path, self.gen, self.target = kind, path, gen, target
        self.file, self.magic, self.host, self.errno = file, magic, host, errno


# Whole-system files, read-only from the host; the rest of the host's /proc
# (kcore, kmsg, sysrq-trigger, kallsyms, ...) is not the guest's to see.
SYSTEM = frozenset((
    "buddyinfo", "cgroups", "cmdline", "config.gz", "consoles", "cpuinfo", "crypto",
    "devices", "diskstats", "execdomains", "filesystems", "fs", "interrupts", "key-users",
    "loadavg",
    "locks", "mdstat", "meminfo", "misc", "pagetypeinfo", "partitions", "pressure",
    "schedstat", "softirqs", "stat", "swaps", "sys", "sysvipc", "tty", "uptime", "version",
    "vmstat", "zoneinfo"))
SYSTEM_LINKS = {"mounts": "self/mounts", "net": "self/net"}
# Per-process files that say the same for the guest as for sysgate's process
# (its mount and network namespaces, its cgroup), read-only from the host.
OWN_HOST = frozenset(("mounts", "mountinfo", "mountstats", "net", "cgroup", "oom_score",
                      "oom_score_adj", "oom_adj", "loginuid", "sessionid", "uid_map", "gid_map",
                      "setgroups"))
OWN_FILES = ("maps", "smaps", "smaps_rollup", "status", "stat", "statm", "cmdline", "environ",
             "auxv", "comm", "limits", "personality", "wchan", "io")
OWN_LINKS = ("exe", "cwd", "root")
# Another guest process of the session: what it published (procspool).
OTHER_FILES = ("cmdline", "comm", "status", "stat", "statm")
OTHER_DENIED = ("mem", "maps", "smaps", "smaps_rollup", "environ", "auxv", "pagemap", "limits",
                "fd", "fdinfo", "cwd", "root", "task", "io")
# The namespaces a guest process is in are its host process's (sysgate makes
# none of its own but the IPC one, which is the host process's too): ns/<x>
# reads as the host's link and opens the host's nsfs file.
NS_NAMES = frozenset(("cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time",
                      "time_for_children", "user", "uts"))


def _pid_of(name):
    """The number a /proc entry names, as proc's name_to_int reads it."""
    if not name.isdigit() or (len(name) > 1 and name[0] == "0") or len(name) > 10:
        return None
    return int(name)


def node(t, parts):
    """The node of the canonical /proc path /proc/<parts...> (each
    component but the last a directory: the walker splices links)."""
    path = "/proc" + "".join("/" + p for p in parts)
    if not parts:
        return Node("dir", path)
    head, rest = parts[0], parts[1:]
    if head == "self":
        return _only(Node("link", path, target=str(t.pid)), rest)
    if head == "thread-self":
        return _only(Node("link", path, target=f"{t.pid}/task/{t.tid}"), rest)
    pid = _pid_of(head)
    if pid is not None:
        if pid == t.pid or pid in tids(t):
            return _own(t, pid, rest, path, pid == t.pid)
        from . import procspool
        info = procspool.lookup(t, pid)
        if info is None:
            raise KernelError(E.ENOENT)
        return _other(t, info, rest, path)
    if head in SYSTEM_LINKS:
        return _only(Node("link", path, target=SYSTEM_LINKS[head]), rest)
    if head in SYSTEM:
        return _host(path, "/".join(parts))
    raise KernelError(E.ENOENT)


def _only(n, rest):
    if rest:
        raise KernelError(E.ENOTDIR)
    return n


def _host(path, rel):
    """A host proc entry by a fixed name; its type decides the node."""
    try:
        st = os.stat(rel, dir_fd=_host_proc_fd(), follow_symlinks=False)
    except FileNotFoundError:
        raise KernelError(E.ENOENT) from None
    except OSError:
        raise KernelError(E.EACCES) from None
    if stat.S_ISLNK(st.st_mode):
        raise KernelError(E.EACCES)
    return Node("dir" if stat.S_ISDIR(st.st_mode) else "host", path, host=rel)


def _own(t, pid, rest, path, is_process):
    if not rest:
        return Node("dir", path)
    name = rest[0]
    sub = rest[1:]
    if name == "task" and is_process:
        if not sub:
            return Node("dir", path)
        tid = _pid_of(sub[0])
        if tid is None or tid not in tids(t):
            raise KernelError(E.ENOENT)
        return _own(t, tid, sub[1:], path, False)
    if name in ("fd", "fdinfo"):
        if not sub:
            return Node("dir", path)
        fd = _pid_of(sub[0])
        f = t.files.fds.get(fd) if fd is not None else None
        if f is None or len(sub) > 1:
            raise KernelError(E.ENOENT if f is None else E.ENOTDIR)
        if name == "fd":
            return Node("link", path, target=fd_target(t, f), file=f, magic=True)
        return Node("file", path, gen=lambda t: procinfo.fdinfo(t, f))
    if name in OWN_HOST:
        n = _host(path, "/".join([str(os.getpid())] + rest))
        return n
    if name == "ns":
        return _ns(path, sub)
    if sub:
        if name in OWN_FILES or name in OWN_LINKS or name in ("mem", "pagemap"):
            raise KernelError(E.ENOTDIR)
        raise KernelError(E.ENOENT)
    if name in OWN_LINKS:
        target = {"exe": lambda: t.exe_path, "cwd": lambda: t.fs.cwd, "root": lambda: "/"}[name]()
        return Node("link", path, target=target, magic=True)
    if name in ("mem", "pagemap"):
        return Node("mem", path)
    if name in OWN_FILES:
        return Node("file", path, gen=getattr(procinfo, name))
    raise KernelError(E.ENOENT)


def _ns(path, sub, pid=None):
    if not sub:
        return Node("dir", path)
    if len(sub) > 1:
        raise KernelError(E.ENOTDIR if sub[0] in NS_NAMES else E.ENOENT)
    if sub[0] not in NS_NAMES:
        raise KernelError(E.ENOENT)
    rel = f"{pid or os.getpid()}/ns/{sub[0]}"
    try:
        target = os.readlink(rel, dir_fd=_host_proc_fd())
    except OSError:
        raise KernelError(E.ENOENT) from None      # a kernel without that namespace
    return Node("link", path, target=target, magic=True, host=rel)


def _ns_listing(pid):
    try:
        names = [x for x, _ in _host_listing(f"{pid}/ns")]
    except OSError:
        names = []
    return [(x, DT_LNK) for x in names if x in NS_NAMES]


def ns_open(n, flags):
    """The host's nsfs file behind the guest's ns/<x> link, by its fixed
    name (following that one magic link only)."""
    acc = flags & (O_ACCMODE | O_PATH)
    try:
        return os.open(n.host, acc | os.O_CLOEXEC, dir_fd=_host_proc_fd())
    except OSError as e:
        raise KernelError(e.errno) from None


def _traced_by(t, pid):
    from ..ptrace.tracer import remote_mem      # ptrace: a tracer reads its tracee's mem
    return pid is not None and remote_mem(t, pid) is not None


def _other(t, info, rest, path):
    if not rest:
        return Node("dir", path)
    name = rest[0]
    pid = info.get("pid")
    from ..ptrace.tracer import traced_thread   # ptrace: /proc/<pid>/task/<tid> of a tracee
    tail = rest[2:] if rest[:2] == ["task", str(pid)] or traced_thread(t, pid, rest) else rest
    if (rest in (["task"], ["task", str(pid)]) or tail in (["mem"], ["auxv"], ["maps"])
            or tail == []) and _traced_by(t, pid):
        if tail in (["auxv"], ["maps"]):
            from ..ptrace.tracer import remote_file
            return Node("file", path, gen=lambda t: remote_file(t, pid, tail[0]))
        return Node("mem" if tail == ["mem"] else "dir", path)
    if tail is not rest and _traced_by(t, pid):
        rest, name = tail, tail[0]      # a tracee's thread: its files (gdb reads its comm)
    if name == "ns":
        # Another guest process is a host process in the same namespaces:
        # its own links, as a debugger compares them with its own (gdb).
        return _ns(path, rest[1:], pid)
    if len(rest) > 1:
        if name in OTHER_DENIED:
            raise KernelError(E.EACCES)
        raise KernelError(E.ENOENT if name not in OTHER_FILES else E.ENOTDIR)
    if name == "exe":
        return Node("link", path, target=info.get("exe", ""), magic=True)
    if name in OTHER_FILES:
        return Node("file", path, gen=lambda t: procinfo.other(t, info, name))
    if name in OTHER_DENIED:
        return Node("denied", path, errno=E.EACCES)
    raise KernelError(E.ENOENT)


def fd_target(t, f):
    """What /proc/self/fd/N reads for the guest's open file f."""
    if f.path is not None:
        return f.path
    return t.fs.guest_path_of(f.host)


# --- listings ------------------------------------------------------------------
def listing(t, path):
    """[(name, d_type)] of the model directory path (canonical)."""
    parts = [p for p in path.split("/")[2:] if p]
    n = node(t, parts)
    if n.kind != "dir":
        raise KernelError(E.ENOTDIR)
    if n.host is not None:
        return _host_listing(n.host)
    if not parts:
        return _root_listing(t)
    pid = _pid_of(parts[0])
    rest = parts[1:]
    own = pid == t.pid or pid in tids(t)
    if not own and rest == ["ns"]:
        return _ns_listing(pid)
    if not own:
        return sorted([(x, DT_REG) for x in OTHER_FILES] + [("exe", DT_LNK), ("ns", DT_DIR)]
                      + [(x, DT_DIR if x in ("fd", "fdinfo", "task") else DT_REG)
                         for x in OTHER_DENIED if x not in ("cwd", "root")]
                      + [("cwd", DT_LNK), ("root", DT_LNK)])
    if rest and rest[0] == "task":
        rest = rest[2:]
        if not rest and len(parts) == 2:
            return [(str(x), DT_DIR) for x in tids(t)]
        process = False
    else:
        process = True
    if rest and rest[0] in ("fd", "fdinfo"):
        kind = DT_LNK if rest[0] == "fd" else DT_REG
        return [(str(fd), kind) for fd in sorted(t.files.fds)]
    if rest and rest[0] == "ns":
        return _ns_listing(os.getpid())
    out = [(x, DT_REG) for x in OWN_FILES + ("mem", "pagemap")]
    out += [(x, DT_LNK) for x in OWN_LINKS]
    out += [("fd", DT_DIR), ("fdinfo", DT_DIR), ("net", DT_DIR), ("ns", DT_DIR)]
    out += [(x, DT_REG) for x in OWN_HOST if x != "net"]
    if process:
        out.append(("task", DT_DIR))
    return sorted(out)


def _root_listing(t):
    from . import procspool
    out = []
    try:
        names = os.listdir("/proc")
    except OSError:
        names = []
    for name in sorted(names):
        if name in SYSTEM:
            try:
                st = os.stat(name, dir_fd=_host_proc_fd(), follow_symlinks=False)
            except OSError:
                continue
            out.append((name, DT_DIR if stat.S_ISDIR(st.st_mode) else DT_REG))
    out += [(x, DT_LNK) for x in ("self", "thread-self", *SYSTEM_LINKS)]
    out += [(str(p), DT_DIR) for p in sorted(procspool.guest_pids(t))]
    return out


def _host_listing(rel):
    out = []
    fd = os.open(rel, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | os.O_NOFOLLOW,
                 dir_fd=_host_proc_fd())
    try:
        with os.scandir(fd) as it:
            for e in it:
                kind = DT_DIR if e.is_dir(follow_symlinks=False) else (
                    DT_LNK if e.is_symlink() else DT_REG)
                out.append((e.name, kind))
    finally:
        os.close(fd)
    return sorted(out)


def ino(path):
    """A /proc entry's inode number: stable across runs, never 0."""
    import zlib     # only when /proc is listed or stat'ed: not at every start
    return zlib.crc32(path.encode(errors="surrogateescape")) | 1


# --- opening -----------------------------------------------------------------
def open_node(t, n, flags, trailing=False):
    """A host fd standing for node n, opened with the guest's flags."""
    acc = flags & O_ACCMODE
    path_only = bool(flags & O_PATH)
    kind = n.kind
    if kind == "denied":
        raise KernelError(n.errno)
    if kind == "link":              # reached only when not followed
        if not path_only:
            raise KernelError(E.ELOOP)
        return link_fd(n.target)
    if kind == "dir":
        if not path_only and (acc != os.O_RDONLY or flags & os.O_CREAT):
            raise KernelError(E.EISDIR)
        return backing_dir(flags)
    if flags & os.O_DIRECTORY or trailing:
        raise KernelError(E.ENOTDIR)
    if flags & os.O_CREAT and flags & os.O_EXCL:
        raise KernelError(E.EEXIST)
    if kind == "mem":
        from . import procmem
        return procmem.open_mem(t, n, flags)
    if acc != os.O_RDONLY and not path_only:
        raise KernelError(E.EACCES)
    if kind == "host":
        # By its fixed name, below the host's /proc, following nothing.
        mode = O_PATH if path_only else os.O_RDONLY
        return openat2(_host_proc_fd(), n.host.encode(), mode | os.O_NOFOLLOW, 0, _FIXED_NAME)
    return memfd(n.path.rsplit("/", 1)[-1], n.gen(t))


def dirents(t, f, count):
    """getdents64 of the model directory open as OpenFile f: its entries from
    the position its host directory holds (which lseek and rewinddir move),
    as many as fit in count bytes; EINVAL if not even one does."""
    import struct
    entries = [(".", DT_DIR), ("..", DT_DIR)] + listing(t, f.path)
    pos = os.lseek(f.host, 0, os.SEEK_CUR)
    out = []
    size = 0
    i = pos
    while i < len(entries):
        name, kind = entries[i]
        raw = name.encode(errors="surrogateescape")
        reclen = (19 + len(raw) + 1 + 7) & ~7
        if size + reclen > count:
            if not out:
                raise KernelError(E.EINVAL)
            break
        out.append(struct.pack("<QqHB", ino(f.path + "/" + name), i + 1, reclen, kind)
                   + raw + bytes(reclen - 19 - len(raw)))
        size += reclen
        i += 1
    os.lseek(f.host, i, os.SEEK_SET)
    return b"".join(out)
