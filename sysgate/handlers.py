"""Every module that registers system-call handlers, imported once so the
tables can be built. Listed explicitly: a new subsystem is added here."""
from .kernel import (cputime, cred, exec, fork, futex, info, mmap, net, personality, pidfd,
                     prctl, priority, privileged, process, schedpolicy, signal, time, timers,
                     tls)  # noqa: F401
from .kernel.fs import (anon, epoll, files, handles, names, poll, splice, stat, sync,  # noqa: F401
                        xattr)
