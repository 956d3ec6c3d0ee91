"""Every module that registers system-call handlers, imported once so the
tables can be built. Listed explicitly: a new subsystem is added here."""
from .kernel import exec, fork, futex, info, mmap, net, process, signal, time, timers, tls  # noqa: F401
from .kernel.fs import anon, epoll, files, handles, names, poll, stat, xattr  # noqa: F401
