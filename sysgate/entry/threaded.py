"""The threaded dispatch: which system calls of a process with threads run
inside the engine's hook, and which leave the CPU first.

Once a process has a second thread, a system call that may block or give
up the CPU (a futex wait, a read, sched_yield, clone, execve...) must not
run with emu_start on its host thread's stack: another thread takes the
engine meanwhile. Such a call stops the CPU and is dispatched after
emu_start returns (cpu.engine's deferred call). A call that never blocks
and never gives up the CPU (a futex wake, getpid) runs in the hook as in a
process with one thread, which saves a stop and a restart of user code.
It also leaves its exit work (a signal to deliver, a timer that expired)
to the run loop: delivering a signal may stop the thread (SIGSTOP), which
waits with the CPU given up. So in the hook such a call stops the CPU
instead, and the run loop's way back to user mode delivers, as after a
preemption; a call that runs here never answers a restart code, so the
two ways out are the same to the guest.
"""
from ..kernel.futex_core import (FUTEX_CMP_REQUEUE, FUTEX_REQUEUE, FUTEX_WAIT,
                                 FUTEX_WAIT_BITSET, FUTEX_WAKE, FUTEX_WAKE_BITSET,
                                 FUTEX_WAKE_OP)
from ..kernel.tables.unistd import NR_I386, NR_X86_64

# Calls that never block or give up the CPU, and that a thread's start and
# end make (pthread_create masks signals around clone; a thread sets its
# robust list, frees its stack): each saves a stop and a restart of the CPU.
_NAMES = ("getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid",
          "clock_gettime", "gettimeofday", "time", "rt_sigprocmask", "set_robust_list",
          "get_robust_list", "set_tid_address", "sched_getaffinity", "getcpu", "brk",
          "mmap", "munmap", "mprotect", "madvise")
INLINE = {
    True: frozenset(NR_X86_64[n] for n in _NAMES if n in NR_X86_64),
    False: frozenset(NR_I386[n] for n in _NAMES + ("getuid32", "geteuid32", "getgid32",
                                                    "getegid32", "clock_gettime64",
                                                    "sigprocmask", "mmap2")
                     if n in NR_I386),
}
FUTEX = {True: NR_X86_64["futex"], False: NR_I386["futex"]}
# The futex operations that only wake (and requeue): none of them sleeps.
WAKES = frozenset((FUTEX_WAKE, FUTEX_WAKE_BITSET, FUTEX_WAKE_OP, FUTEX_REQUEUE,
                   FUTEX_CMP_REQUEUE))
WAITS = frozenset((FUTEX_WAIT, FUTEX_WAIT_BITSET))    # in the hook when the word differs

NORMAL, INLINE_CALL, DEFER = 0, 1, 2


def route(gate):
    """How a system call is run when the gate's common case (a process
    with threads, no gdb stub: INLINE or the futex wakes in the hook,
    everything else deferred) does not hold: NORMAL for a forked child's
    only thread (its engine defers nothing: as with one thread), DEFER for
    every call under a gdb stub (as the engine deferred them all before);
    gate.redo says the next entry is the deferred call's dispatch."""
    if gate.task.proc.cpu_sched is None:
        gate.threaded = False
        return NORMAL
    gate.redo = True
    return DEFER
