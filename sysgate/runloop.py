"""The run loop: run a thread's user code until the CPU stops (a gate
ended the guest, an exec, an interrupt, user code faulted), take the way
back to user mode, and on to the next stop, until the thread or its group
ends; then the end of the process (its status, and in a forked child the
end of the host process)."""
import os
import sys
import threading

from .cpu.engine import GuestFault, REG
from .entry.exit import irqentry_exit_to_user_mode
from .entry.traps import deliver_raised, page_fault
from .kernel.cpulock import ThreadKilled
from .kernel.signal import GuestSignal
from .trace.events import ExitEvent


def flush_stdio():
    """Write out what sysgate's own Python buffers hold (before a fork, which
    would copy them, and before a forked child's host process ends)."""
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except (OSError, ValueError):
            pass


def finish(machine, status):
    """The calling thread ends: the whole group (exit_group, a fatal
    signal), or only itself (exit from a thread that is not the last)."""
    t = machine.task
    proc = t.proc
    t.exit_status = status
    if t.exit_thread and len(proc.threads) > 1:
        if t.tid == proc.pid:
            proc.leader_status = status
    else:
        if t.exit_thread and getattr(proc, "leader_status", None) is not None:
            status = proc.leader_status     # the group's status is the leader's
        if proc.group_exit is None:
            proc.group_exit = status
        if proc.cpu_sched is not None:
            proc.cpu_sched.kill_others(t)
    machine.status = status
    machine.cpu.stop()


def run(machine):
    """Run the loaded program to its end: ('exit', code) or
    ('signal', signo, why). In a forked child the host process ends
    here, as the guest process did."""
    machine.hostsig.start()
    machine.main_ident = threading.get_ident()
    try:
        status = run_main(machine, machine.task)
    finally:
        if not machine.forked:
            machine.hostsig.close()
    if machine.forked:
        end_host_process(machine, status)
    return status


def end_host_process(machine, status):
    from .kernel.fork import release_vfork_parent
    release_vfork_parent(machine.task)
    flush_stdio()
    if status[0] == "exit":
        os._exit(status[1])
    if os.environ.get("SYSGATE_VERBOSE") and len(status) > 2 and status[2]:
        # A child's death is its parent's to report; the why is ours.
        from .kernel.signal import NAMES
        name = NAMES.get(status[1], f"Signal {status[1]}")
        print(f"sysgate: pid {os.getpid()}: {name} ({status[2]})", file=sys.stderr,
              flush=True)
    from .kernel import coredump
    coredump.end_as(machine.task, status[1])


def run_main(machine, task):
    if machine.entry is None and machine.status is not None:
        return process_end(machine, task)     # exec failed past its point of no return
    try:
        run_thread(machine, task)
    except ThreadKilled:
        pass
    return process_end(machine, task)


def process_end(machine, t):
    """The process's first host thread: wait for every thread to end,
    then the process ends."""
    proc = t.proc
    lock = proc.cpu_sched
    if lock is not None:
        thread_end(machine, t)
        lock.wait_all_gone()
        status = proc.group_exit or getattr(proc, "leader_status", None) or t.exit_status
    else:
        status = t.exit_status or machine.status
    machine.status = status
    if machine.debug is not None:         # gdb stub: W or X
        machine.debug.exited(status)
    machine.task.files.close_all()
    if machine.events:
        machine.events.emit(ExitEvent(status))
    return status


def run_thread(machine, t):
    """Run thread t's user code until it ends (its exit, or its group's)."""
    proc = t.proc
    cpu = machine.cpu
    pc = cpu.reg_read(REG["rip"]) if t.thread.ctx is not None or machine._loaded is t \
        else machine.entry
    if machine._loaded is None:
        machine._loaded = t
    machine.gate.fault = None
    while t.exit_status is None and proc.group_exit is None:
        timers = t.timers
        cpu = machine.cpu
        # A thread stops user code at the next timer's deadline, so the
        # signal arrives mid-computation as a timer interrupt's would.
        timers.wake = machine.hostsig.deadlines.watch
        lock = proc.cpu_sched
        try:
            armed = timers.deadline is not None
            if armed and not cpu.exact:
                cpu.survivable_stops()      # a timer kept across execve
            machine.hostsig.deadlines.watch(timers.deadline)
            if machine.debug is not None:     # gdb stub: report a stop, arm a step
                pc = machine.debug.before_run(pc)
            by_syscall = False
            if lock is None:
                cpu.run(pc)
                if cpu.deferred is not None:
                    # The first call after the first clone: threaded now.
                    cpu.dispatch_deferred()
            else:
                if t.pending & ~t.sigmask:
                    # Sent while this thread was off the CPU: delivered
                    # on its way back to user mode.
                    irqentry_exit_to_user_mode(machine.task)
                    pc = cpu.rip()
                lock.in_user = True
                try:
                    cpu.run(pc, lock.slice_insns())
                finally:
                    lock.in_user = False
                if cpu.deferred is not None:
                    by_syscall = True
                    cpu.dispatch_deferred()
                    lock.syscalls += 1
            if machine.pending_exec is not None:
                machine.pending_exec, new = None, machine.pending_exec
                if proc.cpu_sched is not None:
                    from .kernel.thread_exit import de_thread
                    de_thread(t)
                new()
                if proc.cpu_sched is not None:
                    machine.cpu.threaded()
                    machine._loaded = t
                    t.thread.ctx = None
                pc = machine.entry
                continue
            if cpu.async_stopped:
                cpu.async_stopped = False
                machine.gate.repair_async_stop()
            t.timekeeper.refresh()
            gate = machine.gate
            # A timer armed during this run counts too: its deadline may be
            # what stopped the CPU (a 1 ms itimer fired 5 ms late, at the
            # deadline watch's retry).
            armed = armed or timers.deadline is not None
            if (armed or machine.hostsig.pending or t.pending) and gate.fault is None \
                    and t.exit_status is None and proc.group_exit is None:
                irqentry_exit_to_user_mode(machine.task)
            if gate.fault is not None:
                deliver_raised(gate, machine.task)     # an exception a gate saw
        except GuestFault as f:
            try:
                if not page_fault(machine.task, f):
                    pc = machine.cpu.reg_read(REG["rip"])
                    continue        # the page is there now: the instruction again
            except GuestSignal as s:
                die(machine, t, ("signal", s.signo, s.why))
        except GuestSignal as s:
            die(machine, t, ("signal", s.signo, s.why))
        if t.exit_status is None and proc.group_exit is None:
            lock = proc.cpu_sched
            if lock is not None and lock.want_switch(t, by_syscall):
                lock.yield_cpu(t, force=True)
            pc = machine.cpu.rip()


def die(machine, t, status):
    """A fatal signal: the whole group ends with it."""
    t.exit_thread = False
    finish(machine, status)


def thread_end(machine, t):
    """The thread is done (exit, or killed with its group): Linux's
    exit_mm work, then it leaves the group and the CPU."""
    from .kernel.thread_exit import exit_mm_release
    lock = t.proc.cpu_sched
    if t.tracee is not None:      # ptrace: PTRACE_EVENT_EXIT, and its tracer learns of it
        machine.debug.thread_exited(t, t.exit_status or t.proc.group_exit or ("exit", 0))
    if lock is not None and lock.owner is t and t.exit_thread:
        exit_mm_release(t)
    if lock is not None:
        lock.gone(t)
