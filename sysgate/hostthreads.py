"""Guest threads on host threads: each guest thread after the first runs
its user code on a host thread of its own (the run loop's run_thread),
taking its turn on the process's CPU (kernel.cpulock)."""
import os
import sys
import threading

from . import runloop
from .kernel.cpulock import ThreadKilled

SIGKILL_NO = 9


def start_thread(machine, child):
    """A host thread for a new guest thread; returns its tid (the host
    thread's own id, unique among the host's tasks as a tid must be)."""
    h = threading.Thread(target=thread_main, args=(machine, child),
                         name="sysgate-guest", daemon=True)
    h.start()
    return h.native_id


def thread_main(machine, t):
    lock = t.proc.cpu_sched
    try:
        lock.acquire(t)
        runloop.run_thread(machine, t)
    except ThreadKilled:
        pass
    except BaseException as e:      # a kernel bug: the group ends with it
        import traceback
        if os.environ.get("SYSGATE_DEBUG"):
            traceback.print_exc()
        print(f"sysgate: internal error in thread {t.tid}: {e!r}", file=sys.stderr)
        t.exit_thread = False
        if lock.owner is t:
            runloop.finish(machine, ("signal", SIGKILL_NO, "internal error"))
        else:
            t.proc.group_exit = t.proc.group_exit or ("signal", SIGKILL_NO, "internal error")
            lock.kill_others(t)
    if threading.get_ident() == machine.main_ident:
        # A forked child whose parent forked from a thread: this host
        # thread is now its process's first.
        status = runloop.process_end(machine, t)
        runloop.end_host_process(machine, status)
    runloop.thread_end(machine, t)
