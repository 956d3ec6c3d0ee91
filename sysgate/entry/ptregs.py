"""pt_regs: the register snapshot a gate takes at entry and writes back at exit.

orig_ax (the number asked for) and ax (the result) are kept apart, as Linux
keeps them, because a restart needs both: ip -= 2 and ax = orig_ax.
Only the registers a system call reads are captured on the fast paths; a
handler that rewrites the frame (sigreturn, execve) sets `full` with every
register, which forces the IRET return.

Each way in fills one PtRegs of its own in place (Gate.regs64, regs80,
regs32) while the process has one thread and nothing observes its calls:
then nothing keeps a pt_regs past its call (gate.current is the last
one, its exit_path set). A traced or debugged call, and every call of a
process with threads (whose switches keep a thread's pt_regs: cpulock),
gets a new one.
"""

# What every gate reads at entry, in one read (cpu.regbatch: in the register
# file's order, one unpack): the i386 argument registers, the x86-64 ones,
# RIP, the code and stack selectors, and sysflags, the flags an entry or an
# exit decides on (TF, IF, RF, VM: the arithmetic flags may be missing from
# it). A SYSCALL from 64-bit code has saved RFLAGS, all of it, in R11 by then.
ENTRY_NAMES = "rax rcx rdx rbx rsp rbp rsi rdi r8 r9 r10 r11 rip sysflags cs ss".split()
R11_AT, IP_AT, SYSFLAGS_AT, CS_AT = (ENTRY_NAMES.index(n) for n in ("r11", "rip", "sysflags", "cs"))


class PtRegs:
    __slots__ = ("gate", "abi", "orig_ax", "ax", "args", "ip", "flags", "sp",
                 "cx", "r11", "cs", "ss", "full", "exit_path", "seconds", "retval")

    def __init__(self, gate, abi, orig_ax, args, ip, flags, sp=None, cs=0, ss=0):
        self.gate = gate          # 'syscall', 'sysenter', 'int80', 'vsyscall'
        self.abi = abi            # 'x86_64' or 'i386'
        self.orig_ax = orig_ax
        self.ax = -38             # -ENOSYS until a handler answers
        self.args = args
        self.ip = ip              # where user mode resumes
        self.flags = flags
        self.sp = sp
        self.cx = self.r11 = None
        self.cs, self.ss = cs, ss
        self.full = None          # {reg name: value} when a handler rewrote the frame
        self.exit_path = None     # 'sysretq', 'sysretl' or 'iret'
        self.seconds = 0.0        # time in the kernel model, measured only when tracing
        self.retval = None        # the handler's own result, kept only when tracing
