"""Every module that registers system-call handlers, imported once so the
tables can be built. Listed explicitly: a new subsystem is added here."""
from .kernel import (cputime, cred, exec, fork, futex, info, ioport, ldt, madvise,  # noqa: F401
                     mlock, mmap, mremap, personality, pidfd, prctl, priority, privileged,
                     process, schedpolicy, sigcompat, signal, sigsend, sigwait, time, timers,
                     tls)
from .kernel.fs import (anon, descriptors, epoll, fileops, handles, ioctl, names,  # noqa: F401
                        open, owner, poll, rw, rwvec, seek, splice, stat, sync, utimes, xattr)
from .kernel.net import msg, sockets, sockopt, socketcall  # noqa: F401
from .kernel.ipc import msg as ipc_msg, mux, sem, shm  # noqa: F401
from .kernel.ptrace import calls as ptrace_calls  # noqa: F401
