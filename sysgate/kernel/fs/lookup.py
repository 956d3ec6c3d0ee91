"""From a guest (dirfd, path) pair to a host fd or a parent and a name:
the one place that decides between the guest's own /proc and the confined
host walk.

The fast path is a single openat2 (path.FsContext.open) and one fstatfs of
the result: whatever it reached, if that is on a proc file system (the
host's /proc, a proc mounted inside the root, a bind mount of one, reached
by any name), it is closed unused and the path is answered by the model
(proc.py) under the object's canonical name. Paths that name /proc
lexically, relative paths from a directory of the model, and host walks
that meet a magic link (ELOOP: /dev/stdin -> /proc/self/fd/0) are resolved
here one component at a time (_walk), so that links into the guest's /proc
resolve to the guest's own objects."""
import os
import stat
from contextlib import contextmanager

from ...abi.consts import (AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_FOLLOW,  # noqa: F401
                           AT_SYMLINK_NOFOLLOW, O_PATH, PATH_MAX, RESOLVE_BENEATH,
                           RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS,
                           RESOLVE_NO_XDEV)
from ..errors import KernelError, E
from . import proc

MAX_SYMLINKS = 40
O_NOFOLLOW = os.O_NOFOLLOW


def read_path(t, ptr):
    return t.mm.read_cstr(ptr, PATH_MAX)


def fd_path(t, f):
    """The guest-visible name of OpenFile f."""
    return f.path if f.path is not None else t.fs.guest_path_of(f.host)


def in_proc(f):
    """Whether OpenFile f is an object of the guest's /proc (asked of the
    host once: a descriptor from outside may be one)."""
    if f.inproc is None:
        f.inproc = proc.is_procfs(f.host)
        if f.inproc:
            f.path = proc.canonical(f.host)
    return f.inproc


def _base(t, dirfd):
    """(host fd a relative path starts from or None for the cwd, OpenFile)."""
    if dirfd == AT_FDCWD:
        return None, None
    f = t.files.get(dirfd)
    if f.foreign and t.fs.confined:
        raise KernelError(E.EACCES)
    return f.host, f


def absolute(t, dirfd, path):
    """The absolute guest path of (dirfd, path), by name."""
    if path.startswith(b"/"):
        return path
    base, f = _base(t, dirfd)
    where = t.fs.cwd if f is None else fd_path(t, f)
    return where.encode(errors="surrogateescape").rstrip(b"/") + b"/" + path


def _lexically_proc(path):
    if b"proc" not in path:
        return False
    norm = proc_norm(path)
    return norm == "/proc" or norm.startswith("/proc/") or b".." in path


def proc_norm(path):
    import posixpath
    return posixpath.normpath(path.decode(errors="surrogateescape"))


def _relative_in_proc(t, f):
    if f is None:
        return t.fs.cwd_virtual is not None
    if not f.isdir:
        return False
    return in_proc(f)


def open_at(t, dirfd, path, flags, mode=0):
    """Open (dirfd, path) for the guest: (host fd, shown name or None,
    OpenFile it reopens or None)."""
    if not path:
        raise KernelError(E.ENOENT)
    if path[:1] == b"/":
        if _lexically_proc(path):
            return _walk(t, path, flags, mode)
        base = None
    else:
        base, f = _base(t, dirfd)
        if _relative_in_proc(t, f):
            return _walk(t, absolute(t, dirfd, path), flags, mode)
    fs = t.fs
    try:
        host = fs.open_same_mount(base, path, flags, mode)
    except KernelError as e:
        if e.errno not in (E.EXDEV, E.ELOOP):
            raise            # decided before any mount was crossed
        try:
            # Across mounts (or climbing above a relative path's directory):
            # a proc on the way may have decided, so only a success is
            # taken as it is; a failure is looked at component by component.
            host = fs.open(base, path, flags, mode) if e.errno == E.EXDEV else None
        except KernelError:
            host = None
        if host is None:
            return _walk(t, absolute(t, dirfd, path), flags, mode)
    if proc.is_procfs(host):
        return _redo_in_proc(t, host, flags, mode, path.endswith(b"/"))
    return host, None, None


def _redo_in_proc(t, host, flags, mode, trailing, resolve=0):
    """The host walk reached a procfs object: answer from the model, by the
    object's canonical name, never with the host's object."""
    try:
        name = proc.canonical(host)
    finally:
        os.close(host)
    path = name.encode(errors="surrogateescape") + (b"/" if trailing else b"")
    return _walk(t, path, flags, mode, resolve)


def _reopen(t, f, flags):
    """Open the guest's own open file f again, as /proc/self/fd/N does."""
    if flags & O_NOFOLLOW and not flags & O_PATH:
        raise KernelError(E.ELOOP)
    if in_proc(f):
        return _walk(t, f.path.encode(errors="surrogateescape"), flags, 0)
    host = os.open(f"/proc/self/fd/{f.host}", (flags & ~(os.O_CREAT | os.O_EXCL)) | os.O_CLOEXEC)
    return host, f.path, f


def _refuse_foreign_dir(t, f):
    if f.foreign and t.fs.confined and f.isdir and not t.fs.inside(f.host):
        raise KernelError(E.EACCES)


def _walk(t, abspath, flags, mode, resolve=0):
    """Resolve abspath one component at a time: each symlink is read and
    spliced in, /proc components are the model's, and a host component on a
    procfs (a proc mounted elsewhere) continues under its canonical name.
    Every host access stays a confined open of a symlink-free prefix."""
    comps = abspath.decode(errors="surrogateescape").split("/")
    trailing = abspath.endswith(b"/")
    done, i, links = [], 0, 0
    nofollow = bool(flags & O_NOFOLLOW)
    while i < len(comps):
        c = comps[i]
        i += 1
        if c in ("", "."):
            continue
        if c == "..":
            if done:
                done.pop()
            continue
        last = all(x in ("", ".") for x in comps[i:])
        follow = not (last and nofollow and not trailing)
        if not done and c == "proc" or done and done[0] == "proc":
            if not done and resolve & RESOLVE_NO_XDEV:
                raise KernelError(E.EXDEV)      # the guest's /proc is a mount of its own
            try:
                n = proc.node(t, done[1:] + [c] if done else [])
            except KernelError as e:
                if e.errno != E.ENOENT or not last:
                    raise
                done.append(c)
                break
            if n.kind != "link" or not follow:
                done.append(c)
                continue
            if resolve & RESOLVE_NO_SYMLINKS or n.magic and resolve & (
                    RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH | RESOLVE_IN_ROOT):
                raise KernelError(E.ELOOP)
            target, f = n.target, n.file
            if n.host is not None:          # ns/<x>: a namespace, not a path
                if not last:
                    raise KernelError(E.ENOTDIR)
                return proc.ns_open(n, flags), n.target, None     # its fd reads so
            if f is not None:
                _refuse_foreign_dir(t, f)
                if last:
                    return _reopen(t, f, flags)
                if not f.isdir:
                    raise KernelError(E.ENOTDIR)
                if in_proc(f):
                    target = f.path
        else:
            cand = "/" + "/".join(done + [c])
            try:
                h = t.fs.open(None, cand.encode(errors="surrogateescape"), O_PATH | O_NOFOLLOW)
            except KernelError:
                if last:
                    done.append(c)
                    break
                raise
            try:
                if proc.is_procfs(h):
                    if resolve & RESOLVE_NO_XDEV:
                        raise KernelError(E.EXDEV)
                    name = proc.canonical(h).split("/")[1:]
                    done = name[:-1]
                    comps = name[-1:] + comps[i:]
                    i = 0
                    continue
                target = None
                if stat.S_ISLNK(os.fstat(h).st_mode):
                    target = os.readlink("", dir_fd=h)
            finally:
                os.close(h)
            if target is None or not follow:
                done.append(c)
                continue
            if resolve & RESOLVE_NO_SYMLINKS:
                raise KernelError(E.ELOOP)
        links += 1
        if links > MAX_SYMLINKS:
            raise KernelError(E.ELOOP)
        if target.startswith("/"):
            done = []
        comps = target.split("/") + comps[i:]
        i = 0
    if done and done[0] == "proc":
        try:
            n = proc.node(t, done[1:])
        except KernelError as e:
            if e.errno == E.ENOENT and flags & os.O_CREAT and len(done) > 1:
                proc.node(t, done[1:-1])
                raise KernelError(E.EACCES) from None    # no create in proc's dirs
            raise
        name = "/" + "/".join(done)
        host = proc.open_node(t, n, flags, trailing)
        return host, name, None
    final = ("/" + "/".join(done) + ("/" if trailing and done else "")).encode(
        errors="surrogateescape")
    host = t.fs.open(None, final, flags, mode)
    if proc.is_procfs(host):
        return _redo_in_proc(t, host, flags, mode, trailing, resolve)
    return host, None, None


@contextmanager
def object_at(t, dirfd, path, atflags):
    """A host fd for the object (dirfd, path) names, for stat-like calls."""
    if not path:
        if not atflags & AT_EMPTY_PATH:
            raise KernelError(E.ENOENT)
        yield t.fs.cwd_fd if dirfd == AT_FDCWD else t.files.host(dirfd)
        return
    flags = O_PATH | (O_NOFOLLOW if atflags & AT_SYMLINK_NOFOLLOW else 0)
    host, _, _ = open_at(t, dirfd, path, flags)
    try:
        yield host
    finally:
        os.close(host)


@contextmanager
def parent_at(t, dirfd, path, dots_errno):
    """(host dirfd, last name) for calls that act on a name in a directory.

    A last name of '.' or '..' (or the root itself) is refused with
    dots_errno, as Linux refuses it, before anything acts relative to the
    parent: '..' from the root's fd would otherwise name the host directory
    above the root. Nothing is created, removed or renamed in /proc: its
    directories have no such operations (EPERM; EACCES for non-root, whom
    their permissions stop first)."""
    if not path:
        raise KernelError(E.ENOENT)
    stripped = path.rstrip(b"/")
    last = stripped.rsplit(b"/", 1)[-1]
    if not stripped or last in (b".", b".."):
        raise KernelError(dots_errno)
    if b"/" in stripped:
        parent = stripped[:len(stripped) - len(last)]
    else:
        parent = b"."
    if len(stripped) < len(path):
        last += b"/"
    host, name, like = open_at(t, dirfd, parent, O_PATH | os.O_DIRECTORY)
    if name is not None and name.startswith("/proc") or like is not None and in_proc(like):
        os.close(host)
        _refuse_in_proc(t, name if like is None else like.path, last, dots_errno)
    try:
        yield host, last
    finally:
        os.close(host)


def _refuse_in_proc(t, parent, last, dots_errno):
    """What Linux answers a call that would create, remove or rename a name
    in a proc directory: ENOENT for a name proc does not have (its lookup
    fails), EEXIST for one a creating call finds, else EPERM (no such
    operation), or EACCES for non-root, whom the permissions stop first."""
    parts = [p for p in parent.split("/")[2:] if p]
    proc.node(t, parts + [last.rstrip(b"/").decode(errors="surrogateescape")])
    if dots_errno == E.EEXIST:
        raise KernelError(E.EEXIST)
    raise KernelError(E.EPERM if os.geteuid() == 0 else E.EACCES)


def readlink_virtual(t, dirfd, path):
    """Target of a guest /proc magic link named by (dirfd, path), or None
    (the model's links come back from object_at as symlinks anyway; this
    spares the round trip for the lexical names)."""
    if path[:1] == b"/":
        if not _lexically_proc(path) or b".." in path:
            return None
    else:
        _, f = _base(t, dirfd)
        if not _relative_in_proc(t, f):
            return None
    norm = proc_norm(absolute(t, dirfd, path))
    parts = norm.split("/")[2:]
    if not norm.startswith("/proc/") or not parts:
        return None
    try:
        if len(parts) > 1 and parts[0] in ("self", "thread-self"):
            # /proc/self/exe (every static glibc start reads it): the
            # model's own directory, not the host round trip.
            parts = proc.node(t, parts[:1]).target.split("/") + parts[1:]
        # Only a link whose parents are plain model directories.
        for k in range(1, len(parts)):
            if proc.node(t, parts[:k]).kind != "dir":
                return None
        n = proc.node(t, parts)
    except KernelError:
        return None
    return n.target if n.kind == "link" else None
