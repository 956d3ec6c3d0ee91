"""The debug registers a tracer writes with POKEUSER (DR0-DR3 addresses,
DR7 control, DR6 status), checked as arch/x86/kernel/ptrace.c checks them
(DR4/DR5: EIO; an address past user space, an I/O breakpoint or an
execution breakpoint longer than a byte: EINVAL) and kept, so a tracer
reads back what it wrote. They are not armed: the engine's page watching
(which the gdb stub uses) let a store through in a test here and trapped
the load after it, which would report a watchpoint one access late; a
watch that never fires is the honest failure until it is fixed."""
EIO, EINVAL = 5, 22
DR6_RESERVED = 0xFFFF0FF0
TASK_SIZE_MAX = (1 << 47) - 0x1000


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
        if n == 7:
            for i in range(4):
                if value >> (2 * i) & 3:
                    rw, ln = value >> (16 + 4 * i) & 3, value >> (18 + 4 * i) & 3
                    if rw == 2 or (rw == 0 and ln != 0):
                        return EINVAL   # I/O breakpoints; an execution one is 1 byte
        self.dr[n] = value
        return None

    def reset(self):
        """exec clears them (flush_ptrace_hw_breakpoint)."""
        self.__init__()
