"""The debug registers a tracer writes with POKEUSER (DR0-DR3 addresses,
DR7 control, DR6 status), checked as arch/x86/kernel/ptrace.c checks them
(DR4/DR5: EIO; an address past user space, an I/O breakpoint, an execution
breakpoint longer than a byte, or a watched range its address does not
align with: EINVAL, the old value kept), read back as written, and armed on
the tracee's CPU: execution breakpoints as code hooks (the stop comes before
the instruction, which then runs once without a trap, as RF makes it),
watchpoints through the engine's page watching (the stop comes after the
instruction that touched the range, as a data breakpoint's trap does).
A hit is a SIGTRAP with si_code TRAP_HWBKPT and the slot's bit in DR6."""
EIO, EINVAL = 5, 22
DR6_RESERVED = 0xFFFF0FF0
DR_STEP = 0x4000
TASK_SIZE_MAX = (1 << 47) - 0x1000
SIZES = {0: 1, 1: 2, 3: 4, 2: 8}        # DR7's LEN field
TRAP_TRACE, TRAP_HWBKPT = 2, 4


def slots(dr):
    """The enabled breakpoints of dr: (slot, address, kind, length), kind
    'x' (execution), 'w' (writes) or 'rw' (reads and writes)."""
    out = []
    for i in range(4):
        if dr[7] >> (2 * i) & 3:
            rw, ln = dr[7] >> (16 + 4 * i) & 3, dr[7] >> (18 + 4 * i) & 3
            out.append((i, dr[i], {0: "x", 1: "w", 3: "rw"}.get(rw, "io"), SIZES[ln]))
    return out


class DebugRegs:
    def __init__(self):
        self.dr = [0] * 8
        self.dr[6] = DR6_RESERVED

    def write(self, n, value):
        """POKEUSER of u_debugreg[n]: None, or the errno Linux answers."""
        if n in (4, 5) or not 0 <= n < 8:
            return EIO
        if n < 4 and value >= TASK_SIZE_MAX:
            return EINVAL
        new = list(self.dr)
        new[n] = value
        if n != 6:
            for _, addr, kind, size in slots(new):
                if kind == "io" or (kind == "x" and size != 1) or addr & (size - 1):
                    return EINVAL
        self.dr = new
        return None

    def hit(self, bits, step=False):
        """A debug trap: DR6 as ptrace shows it (virtual_dr6, restarted at
        each trap), and the trap's si_code."""
        self.dr[6] = DR6_RESERVED | bits | (DR_STEP if step else 0)
        return TRAP_TRACE if step else TRAP_HWBKPT

    def reset(self):
        """exec clears them (flush_ptrace_hw_breakpoint)."""
        self.__init__()


class HwBreakpoints:
    """Tracee's mixin: the debug registers armed on its CPU."""
    _hw_cpu = None
    _hw_hooks = ()
    _hw_hit = 0             # slots hit by the instruction that just ran (or is next)
    _hw_skip = None         # an execution breakpoint's address to run once (RF)

    def arm_hw(self):
        self.disarm_hw()
        cpu = self.t.thread.cpu
        pages, hooks = {}, []
        for i, addr, kind, size in slots(self.debugregs.dr):
            if kind == "x":
                hooks.append(cpu.hook_code_at(addr, lambda i=i, a=addr: self._on_hw_exec(i, a)))
                continue
            for page in range(addr & ~0xFFF, addr + size, 0x1000):
                if pages.get(page) != "rw":
                    pages[page] = kind
        if pages:
            cpu.watch_pages(pages, self._on_hw_watch)
        self._hw_cpu, self._hw_hooks = cpu, (hooks, bool(pages))
        self.t.hw_armer = self

    def disarm_hw(self):
        cpu, armed = self._hw_cpu, self._hw_hooks
        self._hw_cpu, self._hw_hooks, self._hw_hit, self._hw_skip = None, (), 0, None
        if cpu is None or cpu is not self.t.thread.cpu:
            return          # another program's CPU (exec): nothing of ours on this one
        hooks, watching = armed
        for h in hooks:
            cpu.unhook(h)
        if watching:
            cpu.watch_pages({}, None)

    def _on_hw_exec(self, slot, addr):
        if self.t.debugger is not self or self._hw_cpu is None:
            return
        if self._hw_skip == addr:
            self._hw_skip = None
            return
        self._hw_hit |= 1 << slot
        self.t.thread.cpu.stop()

    def _on_hw_watch(self, accesses):
        if self.t.debugger is not self or self._hw_cpu is None:
            return
        for is_write, a, size in accesses:
            for i, addr, kind, n in slots(self.debugregs.dr):
                if kind != "x" and a < addr + n and addr < a + size and (
                        kind == "rw" or is_write):
                    self._hw_hit |= 1 << i
