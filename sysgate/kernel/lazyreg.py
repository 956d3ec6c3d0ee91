"""The system-call handlers, registered without importing their modules.

Importing every handler module (sysgate/handlers.py) costs a start some
20 ms, and a small program calls a dozen system calls. So the first start
imports them all, as handlers.py does, and keeps an index of what they
registered (the call's name, ABI, argument kinds and module) in the user's
cache, with the size and time of every sysgate source file then loaded.
Later starts read the index, check those files, and register a stand-in per
call: the table entry is complete (name, argument kinds, converters) and its
handler imports the module on the first call, then calls the real handler
and puts it in the table in its own place. Any file changed, removed or the
index unreadable: everything is imported again, as before, and the index
written anew. A call the index names but its module no longer registers
imports every handler module, and is ENOSYS only if it is still missing.
"""
import os
import sys

from .. import jsonio
from . import registry, sigpending
from .errors import KernelError, E

_FORMAT = 2
_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))     # .../sysgate


def register_handlers():
    """Every system call registered, or standing in (see above)."""
    registry.before_identity_change = import_everything
    index = _read_index()
    if index is not None:
        for abi, name, module, label, kinds in index:
            key = (abi, name)
            if key not in registry.HANDLERS:
                registry.HANDLERS[key] = _stand_in(key, module, label, kinds)
        if sigpending.note_taker is None:
            sigpending.note_taker = _take_note
        os.register_at_fork(before=import_all)
        return
    from .. import handlers  # noqa: F401  (every registration)
    _write_index()


def _take_note(t, hi):
    """A ptrace note (a tracer attached) before kernel.ptrace.attach, which
    takes it, was imported (handlers.py imports it with ptrace's calls):
    importing it puts its own taker in place."""
    from .ptrace import attach
    return attach.take_note(t, hi)


_all = []


def import_all():
    """Every handler module imported now: before a fork (each child would
    otherwise import, again and on its own, what it calls that its parent
    did not: a loop of fork and exec would pay it at every turn)."""
    if not _all:
        from .. import handlers  # noqa: F401
        _all.append(True)


# The standard modules sysgate imports inside functions (at their first
# use), beside those every sysgate module imports at its top: kept in step
# with the sources by tests/test_lazyreg.py. (matplotlib, for --plot, is
# not sysgate's to promise.)
LATE_STDLIB = ("argparse", "atexit", "ctypes", "fcntl", "hashlib", "importlib", "json",
               "mmap", "os", "pkgutil", "posixpath", "re", "resource", "shutil", "signal", "socket",
               "struct",
               "tempfile", "time", "traceback", "types", "xml.sax.saxutils", "zlib")
_everything = []


def import_everything():
    """Every module sysgate may import later, imported now: before the host
    process takes another identity (kernel.cred, through
    registry.before_identity_change), after which sysgate's own
    files and the Python it runs on may be out of its reach (a root's
    /root/.pyenv, mode 0700: a guest that dropped root would otherwise die
    of sysgate's ModuleNotFoundError at the next first use of a handler).
    About 20 ms of CPU (a guest that drops root against a hello), once per
    process tree."""
    if _everything:
        return
    import importlib
    import pkgutil
    import_all()
    top = sys.modules[__name__.split(".")[0]]
    for info in pkgutil.walk_packages(top.__path__, top.__name__ + "."):
        if not info.name.endswith("__main__"):
            try:
                importlib.import_module(info.name)
            except ImportError:
                pass        # a part that needs what this host lacks
    for name in LATE_STDLIB:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    _everything.append(True)


def _cache_path():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    tag = 0x811C9DC5      # FNV-1a of the checkout and the Python (zlib's import costs more)
    for b in f"{_PKG}\0{sys.version}".encode():
        tag = (tag ^ b) * 0x01000193 & 0xFFFFFFFF
    return os.path.join(base, "sysgate", f"handlers-{tag:08x}")


def _sources():
    """The source file of every sysgate module loaded now."""
    out = []
    for name, mod in list(sys.modules.items()):
        path = getattr(mod, "__file__", None)
        if (name == "sysgate" or name.startswith("sysgate.")) and path:
            out.append(path)
    return sorted(out)


def _read_index():
    try:
        with open(_cache_path(), "rb") as f:
            # JSON, not marshal: the file is the user's, and a confined
            # guest whose root holds it can write it; JSON builds no objects
            # but strings, numbers and lists.
            fmt, files, raw = jsonio.loads(f.read())
        if fmt != _FORMAT:
            return None
        for path, mtime, size in files:
            st = os.stat(path)
            if st.st_mtime_ns != mtime or st.st_size != size:
                return None
        index = []
        for abi, name, module, label, kinds in raw:
            if not (isinstance(module, str) and module.startswith("sysgate.")
                    and (abi is None or isinstance(abi, str))
                    and isinstance(name, str) and isinstance(label, str)
                    and all(isinstance(k, str) and k in registry.KINDS for k in kinds)):
                return None
            index.append((abi, name, module, label, tuple(kinds)))
        return index
    except (OSError, ValueError, TypeError, RecursionError):      # JSON nested too deep
        return None


def _write_index():
    index = []
    for (abi, name), call in registry.HANDLERS.items():
        module = getattr(call.fn, "__module__", None)
        if module and module.startswith("sysgate."):
            index.append((abi, name, module, call.name, tuple(call.kinds)))
    try:
        files = [(p, st.st_mtime_ns, st.st_size) for p, st in
                 ((p, os.stat(p)) for p in _sources())]
        path = _cache_path()
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(jsonio.dumps((_FORMAT, files, index)))
        os.replace(tmp, path)
    except OSError:
        return
    _prune(os.path.dirname(path))


KEEP = 8        # handler indexes kept in the user's cache (one per checkout and Python)


def _prune(d):
    """Only the KEEP newest indexes stay: each checkout and Python has its
    own, and nothing else would ever remove one. One pruned while its
    checkout is still in use is made again at that checkout's next run."""
    def mtime(p):
        try:
            return os.lstat(p).st_mtime_ns
        except OSError:
            return 0
    try:
        paths = [os.path.join(d, n) for n in os.listdir(d) if n.startswith("handlers-")]
    except OSError:
        return
    for p in sorted(paths, key=mtime, reverse=True)[KEEP:]:
        try:
            os.unlink(p)
        except OSError:
            pass


def _resolve(key, module):
    """Import module, whose registration of key turns the stand-in into
    the handler (registry.syscall); every handler module when that one did
    not register it."""
    import importlib
    try:
        importlib.import_module(module)
    except ImportError:
        pass
    if registry.HANDLERS[key].lazy:
        from .. import handlers  # noqa: F401
    if registry.HANDLERS[key].lazy:
        raise KernelError(E.ENOSYS)


def _stand_in(key, module, label, kinds):
    """A Syscall whose handler imports module at its first call."""
    def lazy(t, *args):
        if me.lazy:
            _resolve(key, module)       # me is the handler's Syscall now
        # Also when another call's import (or import_all before a fork)
        # has already made me the handler: the tables built before that
        # still hold this stand-in, one more Python call at every call.
        _install(t, lazy, me, scanned)
        return me.call(t, *args)
    me = registry.Syscall(label, lazy, kinds, bound={}, call=lazy)
    me.lazy = True
    scanned = set()     # the tables' ids looked through for lazy already
    return me


def _install(t, lazy, call, scanned):
    """The handler in the calling task's tables, where the stand-in was
    (tables built from now on copy it from the Syscall itself); each table
    looked through once."""
    for table, abi in zip(t.syscall_tables(), ("x86_64", "i386")):
        if id(table) in scanned:
            continue
        scanned.add(id(table))
        convert = None
        for e in table:
            if e is not None and e.fn is lazy:
                if convert is None:
                    convert = registry.converters(abi, call.kinds)
                e.convert, e.fn = convert, call.call
