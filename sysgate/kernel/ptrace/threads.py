"""Each thread of a traced process is a tracee of its own, as on Linux: its
Tracee hangs on its Task (task.tracee), and while any thread of the process
is traced the machine's debugger is a Threads, which hands each hook (the
gate's system-call stops, the run loop's before_run, signal delivery) to
the Tracee of the thread that makes it. (task.py's debugger accessor puts
it in place: this module never names the machine.)"""


class Threads:
    per_thread = True
    ptraced = True

    def __init__(self, task):
        self._task = task       # any thread of the process: its running() is the one on the CPU
        self._leader = task if task.tid == task.pid else None    # its traced leader

    def syscall_stop(self, gate, regs, entry):
        d = gate.task.tracee
        if d is not None:
            d.syscall_stop(gate, regs, entry)

    def signal_pick(self, t, signo):
        d = t.tracee
        return signo if d is None else d.signal_pick(t, signo)

    def signal_stop(self, t, signo, regs, info):
        d = t.tracee
        return (signo, info) if d is None else d.signal_stop(t, signo, regs, info)

    def before_run(self, pc):
        t = self._task.running()
        d = t.tracee if t is not None else None
        return pc if d is None else d.before_run(pc)

    def exited(self, status):
        """The process ends (its first host thread, after the others): its
        leader's end, with the group's status. The thread on the CPU last
        is another when the leader ended first (pthread_exit): the traced
        leader's end was then never told to a tracer that is not its parent,
        who read it as a SIGKILL."""
        t = self._task.running()
        if t is None or t.tracee is None or t.tid != t.pid:
            t = self._leader or t
        d = t.tracee if t is not None else None
        if d is not None:
            d.exited(status)

    def thread_exited(self, t, status):
        """A thread of a threaded process ends (the run loop's thread_end,
        while it may still hold the CPU): its PTRACE_EVENT_EXIT, and the
        report of its end unless it is the leader, whose end is its
        process's (exited, from the process's end)."""
        d = t.tracee
        if d is None:
            return
        d.exit_stop(status)
        if t.tid != t.proc.pid:
            d.exited(status)


def set_tracee(t, d, current):
    """t is traced by d (a Tracee) from now on, or (d None) no longer;
    current is the process's debugger: what it is to be is returned."""
    from . import channel
    t.tracee = d
    if d is not None:
        if getattr(current, "per_thread", False):
            if t.tid == t.pid:
                current._leader = t
            return current
        channel.mark_traced(t.session, t.pid, True)
        return Threads(t)
    if current is not None and current.per_thread and not any(
            o.tracee is not None for o in list(t.proc.threads.values())):
        channel.mark_traced(t.session, t.pid, False)
        return None
    return current
