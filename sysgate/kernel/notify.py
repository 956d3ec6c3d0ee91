"""What the kernel tells whoever observes it. The kernel publishes
(kind, details) here and imports nothing of trace/; the trace layer
subscribes (trace.events.kernel_listener, wired by the machine).

Kinds: "signal" (signo, siginfo bytes in the x86-64 layout): a signal is
acted on (delivered, ignored or fatal) on the way back to user mode;
"threaded" (tid): the process has a second thread, tid() names the
thread on the CPU."""


class Notifier:
    def __init__(self):
        self.listeners = []

    def subscribe(self, fn):
        """fn(kind, *details) for every event published from now on."""
        self.listeners.append(fn)
        return fn

    def publish(self, kind, *details):
        for fn in self.listeners:
            fn(kind, *details)
