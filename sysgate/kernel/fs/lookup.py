"""From a guest (dirfd, path) pair to a host fd or a parent and a name:
the one place that decides between the guest's own /proc and the confined
host walk.

The fast path is a single openat2 (path.FsContext.open). Paths that name
/proc take the lexical check for the guest's own /proc entries first; a
host walk that meets a magic link (ELOOP: /dev/stdin -> /proc/self/fd/0)
is redone here one component at a time, so that links into the guest's
/proc resolve to the guest's own objects."""
import os
import stat
from contextlib import contextmanager

from ..errors import KernelError, E
from . import proc
from .path import O_PATH, PATH_MAX

AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_SYMLINK_FOLLOW = 0x100, 0x200, 0x400
AT_EMPTY_PATH = 0x1000
MAX_SYMLINKS = 40
O_NOFOLLOW = os.O_NOFOLLOW


def read_path(t, ptr):
    return t.mm.read_cstr(ptr, PATH_MAX)


def fd_path(t, f):
    """The guest-visible name of OpenFile f."""
    return f.path if f.path is not None else t.fs.guest_path_of(f.host)


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
    base, _ = _base(t, dirfd)
    where = t.fs.guest_path_of(t.fs.cwd_fd if base is None else base)
    return where.encode(errors="surrogateescape").rstrip(b"/") + b"/" + path


def _in_proc(t, dirfd, path, f):
    if path[:1] == b"/":
        return b"proc" in path
    if f is None:
        return t.fs.cwd_in_proc
    if f.inproc is None:         # a directory cannot move into or out of /proc
        f.inproc = fd_path(t, f).startswith("/proc")
    return f.inproc


def open_at(t, dirfd, path, flags, mode=0):
    """Open (dirfd, path) for the guest: (host fd, shown name or None,
    OpenFile it reopens or None)."""
    if not path:
        raise KernelError(E.ENOENT)
    base, f = _base(t, dirfd) if path[:1] != b"/" else (None, None)
    if _in_proc(t, dirfd, path, f):
        return _open_virtual(t, absolute(t, dirfd, path), flags, mode)
    try:
        return t.fs.open(base, path, flags, mode), None, None
    except KernelError as e:
        if e.errno != E.ELOOP:
            raise
    return _walk(t, absolute(t, dirfd, path), flags, mode)


def _reopen(t, target, f, flags):
    """Open the guest's own open file f again, as /proc/self/fd/N does."""
    if flags & O_NOFOLLOW and not flags & O_PATH:
        raise KernelError(E.ELOOP)
    host = os.open(f"/proc/self/fd/{f.host}", (flags & ~(os.O_CREAT | os.O_EXCL)) | os.O_CLOEXEC)
    return host, f.path, f


def _open_virtual(t, abspath, flags, mode):
    """Paths that may name the guest's /proc: its generated files and its
    magic links, which resolve to the guest's objects."""
    if b".." in abspath.split(b"/"):
        return _walk(t, abspath, flags, mode)    # '..' after a magic link is not lexical
    for _ in range(MAX_SYMLINKS):
        norm = proc.normalise(abspath)
        host = proc.open_file(t, norm)
        if host is not None:
            return host, norm, None
        link = proc.magic(t, norm)
        if link is None:
            break
        target, f, rest = link
        if not rest:
            if f is not None:
                return _reopen(t, target, f, flags)
            if flags & O_NOFOLLOW and not flags & O_PATH:
                raise KernelError(E.ELOOP)
        elif not target.startswith("/"):
            raise KernelError(E.ENOTDIR)
        abspath = "/".join([target.rstrip("/")] + rest).encode(errors="surrogateescape") or b"/"
    else:
        raise KernelError(E.ELOOP)
    try:
        return t.fs.open(None, abspath, flags, mode), None, None
    except KernelError as e:
        if e.errno != E.ELOOP:
            raise
    return _walk(t, abspath, flags, mode)


def _walk(t, abspath, flags, mode):
    """Resolve abspath one component at a time: each symlink is read and
    spliced in, so a link into /proc/self reaches the guest's own objects.
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
        cand = "/" + "/".join(done + [c])
        link = proc.magic(t, cand)
        target = None
        if link is None and proc.is_own_dir(t, cand):
            done.append(c)           # /proc, /proc/self, /proc/self/fd: the guest's own
            continue
        if link is not None:
            target, f, _ = link
            if f is not None and (last or not target.startswith("/")):
                if not last:
                    raise KernelError(E.ENOTDIR)
                return _reopen(t, target, f, flags)
        else:
            try:
                h = t.fs.open(None, cand.encode(errors="surrogateescape"), O_PATH | O_NOFOLLOW)
            except KernelError:
                if last:
                    done.append(c)
                    break
                raise
            try:
                if stat.S_ISLNK(os.fstat(h).st_mode):
                    target = os.readlink("", dir_fd=h)
            finally:
                os.close(h)
        if target is None or (last and nofollow and not trailing):
            done.append(c)
            continue
        links += 1
        if links > MAX_SYMLINKS:
            raise KernelError(E.ELOOP)
        if target.startswith("/"):
            done = []
        comps = target.split("/") + comps[i:]
        i = 0
    final = ("/" + "/".join(done) + ("/" if trailing and done else "")).encode(
        errors="surrogateescape")
    host = proc.open_file(t, proc.normalise(final))
    if host is not None:
        return host, proc.normalise(final), None
    return t.fs.open(None, final, flags, mode), None, None


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
    above the root."""
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
    host, _, _ = open_at(t, dirfd, parent, O_PATH | os.O_DIRECTORY)
    try:
        yield host, last
    finally:
        os.close(host)


def readlink_virtual(t, dirfd, path):
    """Target of a guest /proc magic link named by (dirfd, path), or None."""
    base, f = _base(t, dirfd) if path[:1] != b"/" else (None, None)
    if not _in_proc(t, dirfd, path, f):
        return None
    return proc.readlink(t, proc.normalise(absolute(t, dirfd, path)))
