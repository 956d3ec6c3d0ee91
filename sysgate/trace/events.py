"""The event stream: everything observable about a guest run. The gate,
the vDSO observer and the run loop emit; printers and summaries subscribe.
Nothing is emitted (and nothing costs) while no one subscribes."""
import struct
from dataclasses import dataclass, field


@dataclass
class Crossing:
    """One system call: entered through `gate`, returned through `exit_path`."""
    gate: str             # 'syscall', 'sysenter', 'int80'
    abi: str              # 'x86_64' or 'i386'
    nr: int
    name: str
    args: tuple
    result: int
    exit_path: str        # 'sysretq', 'sysretl', 'iret'
    text_args: list = field(default_factory=list)   # decoded while memory is current
    seconds: float = 0.0  # host time spent in the kernel model
    kind: str = "syscall"


@dataclass
class VdsoCall:
    name: str
    args: tuple
    result: int
    text_args: list = field(default_factory=list)
    kind: str = "vdso"


@dataclass
class SignalEvent:
    signo: int
    code: int
    addr: int = None
    kind: str = "signal"


@dataclass
class ExitEvent:
    status: tuple         # ('exit', code) or ('signal', signo, why)
    kind: str = "exit"


def kernel_listener(stream, emit):
    """A kernel.notify listener: what the kernel publishes, as events for
    stream (emit: how an event goes out, Machine.note_event). Nothing is
    decoded while the stream has no subscriber."""
    def on(kind, *details):
        if kind == "signal" and stream:
            signo, info = details
            code, = struct.unpack_from("<i", info, 8)
            addr = struct.unpack_from("<Q", info, 16)[0] if signo in (4, 7, 8, 11) else None
            emit(SignalEvent(signo, code, addr))
        elif kind == "threaded":
            set_tid_source(details[0])      # who is calling, for the printers
    return on


class EventStream:
    def __init__(self):
        self.subscribers = []

    def subscribe(self, fn):
        self.subscribers.append(fn)
        return fn

    def __bool__(self):
        return bool(self.subscribers)

    def clear(self):
        """A forked child that is not followed reports nothing."""
        self.subscribers = []

    def after_fork(self):
        """In a followed child: subscribers that keep tallies start afresh
        (the parent's calls are the parent's)."""
        for fn in self.subscribers:
            reset = getattr(fn, "after_fork", None)
            if reset is not None:
                reset()

    def flush(self):
        for fn in self.subscribers:
            out = getattr(fn, "out", None)
            if out is not None:
                out.flush()

    def emit(self, event):
        for fn in self.subscribers:
            fn(event)


# Whose crossing an event is: the calling thread's tid once the process has
# threads (the printers' [pid TID]); the process's pid before.
_tid_source = None


def set_tid_source(fn):
    global _tid_source
    _tid_source = fn


def current_tid():
    import os
    return _tid_source() if _tid_source is not None else os.getpid()
