"""The event stream: everything observable about a guest run. The gate,
the vDSO observer and the run loop emit; printers and summaries subscribe.
Nothing is emitted (and nothing costs) while no one subscribes."""
import struct


# Plain classes, not dataclasses: making those cost every start about two
# milliseconds. An event's fields are its instance attributes, in this
# order (the JSON printer writes vars(event)).
class _Event:
    def __repr__(self):
        return f"{type(self).__name__}(" + ", ".join(
            f"{k}={v!r}" for k, v in vars(self).items()) + ")"

    def __eq__(self, other):
        return type(other) is type(self) and vars(other) == vars(self)


class Crossing(_Event):
    """One system call: entered through `gate`, returned through `exit_path`."""

    def __init__(self, gate, abi, nr, name, args, result, exit_path, text_args=None,
                 seconds=0.0, kind="syscall"):
        self.gate = gate                # 'syscall', 'sysenter', 'int80'
        self.abi = abi                  # 'x86_64' or 'i386'
        self.nr = nr
        self.name = name
        self.args = args
        self.result = result
        self.exit_path = exit_path      # 'sysretq', 'sysretl', 'iret'
        self.text_args = [] if text_args is None else text_args   # decoded while memory is current
        self.seconds = seconds          # host time spent in the kernel model
        self.kind = kind


class VdsoCall(_Event):
    def __init__(self, name, args, result, text_args=None, kind="vdso"):
        self.name, self.args, self.result = name, args, result
        self.text_args = [] if text_args is None else text_args
        self.kind = kind


class SignalEvent(_Event):
    def __init__(self, signo, code, addr=None, kind="signal"):
        self.signo, self.code, self.addr, self.kind = signo, code, addr, kind


class ExitEvent(_Event):
    def __init__(self, status, kind="exit"):
        self.status = status           # ('exit', code) or ('signal', signo, why)
        self.kind = kind


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
