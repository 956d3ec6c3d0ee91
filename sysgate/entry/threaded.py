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
from ..kernel.futex_core import (FUTEX_CMP_REQUEUE, FUTEX_REQUEUE, FUTEX_WAKE,
                                 FUTEX_WAKE_BITSET, FUTEX_WAKE_OP)
from ..kernel.tables.unistd import NR_I386, NR_X86_64

_NAMES = ("getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid",
          "clock_gettime", "gettimeofday", "time")
INLINE = {
    True: frozenset(NR_X86_64[n] for n in _NAMES if n in NR_X86_64),
    False: frozenset(NR_I386[n] for n in _NAMES + ("getuid32", "geteuid32", "getgid32",
                                                    "getegid32", "clock_gettime64")
                     if n in NR_I386),
}
FUTEX = {True: NR_X86_64["futex"], False: NR_I386["futex"]}
# The futex operations that only wake (and requeue): none of them sleeps.
WAKES = frozenset((FUTEX_WAKE, FUTEX_WAKE_BITSET, FUTEX_WAKE_OP, FUTEX_REQUEUE,
                   FUTEX_CMP_REQUEUE))
_OP_MASK = 0x7F     # without FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME

NORMAL, INLINE_CALL, DEFER = 0, 1, 2


def route(gate, is64, nr, op):
    """How system call nr (op: its second argument) of a process with
    threads is run (gate.redo, the deferred dispatch of a call stopped
    before, is the gate's to see first): NORMAL (a forked child's only
    thread: as with one thread), INLINE_CALL (in the hook, its exit work
    left to the run loop) or DEFER (the CPU stops; gate.redo says the next
    entry is the dispatch)."""
    if gate.task.proc.cpu_sched is None:
        gate.threaded = False       # a forked child: its engine defers nothing
        return NORMAL
    if gate.machine.debug is None:
        nr &= 0xFFFFFFFF
        if nr == FUTEX[is64]:
            if op & _OP_MASK in WAKES:
                return INLINE_CALL
        elif nr in INLINE[is64]:
            return INLINE_CALL
    gate.redo = True
    return DEFER
