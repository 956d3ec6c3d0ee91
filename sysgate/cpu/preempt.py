"""Stops from another host thread: the preempt flag, the machine-code
block hook that reads it, and when a process's stops must become exact."""
import ctypes

from unicorn import UcError
from unicorn import unicorn_const as UC
from unicorn.unicorn_py3.unicorn import uclib as _lib

from ..kernel.tables.unistd import NR_I386, NR_X86_64
from . import ucpatch
from .ucraw import _uc_hook_add, code_page

# Preemption from another host thread must not use uc_emu_stop: Unicorn
# 2.1.4 then resumes at the start of the block it was running, whose stores
# run again (a `lock xadd` loop counts twice). Instead that thread sets a
# flag, and a block hook written in machine code (no Python per block)
# stops the CPU from inside, which is exact:
#   mov rax,[rcx]; test rax,rax; jnz stop; ret
#   stop: mov qword [rcx],0; mov rax,[rcx+8]; jmp rax  (uc_emu_stop(uc))
_PREEMPT_STUB = bytes.fromhex("488b01" "4885c0" "7501" "c3" "48c70100000000" "488b4108" "ffe0")


# The system calls after which a process may be stopped from another thread
# and go on (a handler to run, a timer's signal, a tracer's stop): after
# them its stops must be exact (Engine.survivable_stops); a sigaction only
# when it sets an action (a query does not).
def _numbers(table, names):
    return frozenset(table[n] for n in names if n in table)


_SURVIVED_STOPS = {
    "x86_64": _numbers(NR_X86_64, ("rt_sigaction", "alarm", "setitimer", "ptrace",
                                   "timer_create", "timer_settime")),
    "i386": _numbers(NR_I386, ("signal", "sigaction", "rt_sigaction", "alarm", "setitimer",
                               "ptrace", "timer_create", "timer_settime", "timer_settime64")),
}
# Either ABI's: the one set test a system call pays before _after_call.
_SURVIVED_ANY = _SURVIVED_STOPS["x86_64"] | _SURVIVED_STOPS["i386"]

# rt_sigaction (both ABIs), sigaction and signal (i386): args[1] is the action.
_SIGACTIONS = _numbers(NR_X86_64, ("rt_sigaction",)) | _numbers(
    NR_I386, ("rt_sigaction", "sigaction", "signal"))


class PreemptFlag(ctypes.Structure):
    _fields_ = [("flag", ctypes.c_int64), ("stop", ctypes.c_void_p)]


class Preemption:
    """Engine's exact stops (kernel.cpulock, machine)."""

    def threaded(self):
        """The process has threads: system calls are deferred (see defer),
        and other threads' stops (slices) must be exact."""
        self.defer = True
        self.survivable_stops()
        return self.preempt

    def end_slice(self):
        """From the slice helper (kernel.cpulock): stop user code at its
        next block. The helper repeats it while the slice is over, so one
        that lands as emulation restarts is not lost for long."""
        if self._preempt_hook is not None:
            self.preempt.flag = 1
        elif not self._checks:
            self._stop_at_block()

    def _install_preempt(self):
        """The flag another host thread sets to stop user code exactly. The
        block hook that reads it is added by exact_stops, only when a stop
        may come that the process survives and uc_emu_stop would not land
        exactly (see survivable_stops): it runs at the start of every block
        and costs compute-bound code about a sixth of its speed, and adding
        it discards every block translated before."""
        self.preempt = PreemptFlag(0, ctypes.cast(_lib.uc_emu_stop, ctypes.c_void_p).value)
        self._preempt_hook = None
        self.want_exact = False     # asked from another thread: added at the next safe point
        self.survivable = False     # a stop may come that the process goes on after
        # uc_emu_stop from another thread may land half-way through an
        # instruction's hooks, which Unicorn then skips (a SYSCALL's: the
        # system call is lost); cpu.ucpatch's stop is made at a block's
        # start. Without it every stop goes through the block hook.
        self._stop_at_block = ucpatch.stop_at_block_start(self.uc)
        if self._stop_at_block is None:
            self.exact_stops()

    def exact_stops(self):
        """From now on a stop asked from another thread is exact: a block
        hook in machine code (no Python per block) stops the CPU at the
        start of a block when the flag is set. uc_emu_stop called from
        another thread instead lets the check after a memory access exit
        mid-instruction with the PC put back on it, so an instruction whose
        store already ran (add [mem], lock xadd) runs twice. Called on the
        CPU's own thread, between runs or inside a hook."""
        self.want_exact = False
        if self._preempt_hook is not None:
            return
        handle = ctypes.c_size_t()
        err = _uc_hook_add(self.uc._uch, ctypes.byref(handle), ctypes.c_int(UC.UC_HOOK_BLOCK),
                           ctypes.c_void_p(code_page(_PREEMPT_STUB)),
                           ctypes.c_void_p(ctypes.addressof(self.preempt)),
                           ctypes.c_uint64(1), ctypes.c_uint64(0))
        if err:
            raise UcError(err)
        self._preempt_hook = handle
        # Blocks translated before the hook existed would never call it.
        self.uc.ctl_flush_tb()

    @property
    def exact(self):
        return self._preempt_hook is not None

    def stop_async(self, how="exact"):
        """Stop user code from another host thread. how: "exact" (the
        process goes on afterwards), "now" (it will not: a fatal signal, so
        where the stop lands does not matter) or "none" (nothing to do in
        user code: a blocked or ignored signal). Without the block hook a
        stop is made at the next block's start (cpu.ucpatch
        stop_at_block_start), exact while Unicorn checks for it at blocks'
        starts alone (Engine.exit_checks off, the rule); one that lands just as
        emulation restarts is forgotten, and the caller repeats it (the
        signal helper until the run loop takes its queue, a timer's watch
        until its deadline is planned again). With the per-access check on
        (a debugger, counted runs) the stop waits for the block hook, asked
        for here and added at the next system call (a safe point)."""
        self.async_stops += 1
        if self._preempt_hook is not None:
            self.preempt.flag = 1
        elif how == "none":
            return
        elif not self._checks:
            self._stop_at_block()
        elif how == "now":
            self.uc.emu_stop()
        else:
            self.want_exact = True

    def _after_call(self):
        """After a system call in a process whose stops are not exact yet:
        from now on may a stop come that it survives (a handler, a timer, a
        stop requested)? Then see survivable_stops, while the CPU is in a
        hook (a safe point)."""
        regs = self.gate.current
        if self.want_exact:
            self.exact_stops()
        elif regs is not None and regs.orig_ax in _SURVIVED_STOPS[regs.abi] \
                and not (regs.orig_ax in _SIGACTIONS and regs.args and not regs.args[1]):
            self.survivable_stops()

    def survivable_stops(self):
        """A stop from another host thread may come now that the process
        goes on after (a handler set, a timer armed, a tracer): it must land
        between instructions. cpu.ucpatch's stop does while Unicorn checks
        for stops at blocks' starts alone (cpu.ucfields), so the block hook is
        added only while the per-access check is on (a debugger, counted
        runs; Engine.run adds it when a run turns the check on later)."""
        self.survivable = True
        if self._checks:
            self.exact_stops()
