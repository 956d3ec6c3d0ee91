"""The legacy vsyscall page: a call to one of its three entries faults on
the fetch and Linux emulates it (arch/x86/entry/vsyscall/vsyscall_64.c):
the system call runs and the return is made as RET would make it."""
from ..kernel.errors import KernelError
from .common import MASK64, do_syscall, iret
from .ptregs import PtRegs
from .traps import SIGSEGV, raise_fault

EFAULT = 14
VSYSCALL_ADDR = 0xFFFFFFFFFF600000
VSYSCALL_NRS = (96, 201, 309)        # gettimeofday, time, getcpu


def do_vsyscall(gate, addr):
    """emulate_vsyscall: one of the page's three entries, called from
    64-bit code, runs its system call and returns as RET would; anything
    else there, or a bad stack or pointer, is SIGSEGV."""
    nr = (addr & 0xC00) >> 10
    if addr & ~0xC00 != VSYSCALL_ADDR or nr >= 3:
        return raise_fault(gate, SIGSEGV, "misaligned vsyscall", addr, 14)
    user = gate.task.thread.read_regs()
    sp = user["rsp"]
    try:
        caller = int.from_bytes(gate.task.mm.read(sp, 8), "little")
    except KernelError:
        return raise_fault(gate, SIGSEGV, "vsyscall with bad stack", addr, 14)
    args = tuple(user[r] for r in ("rdi", "rsi", "rdx", "r10", "r8", "r9"))
    regs = PtRegs("vsyscall", "x86_64", VSYSCALL_NRS[nr], args, caller, user["eflags"], sp + 8,
                  user["cs"], user["ss"])
    plain = gate.trace is None and gate.machine.debug is None
    do_syscall(gate, regs, gate.table64, True, lambda gate, regs: _leave(gate, regs, addr),
               plain, VSYSCALL_NRS[nr], args)


def _leave(gate, regs, addr):
    if regs.ax == -EFAULT:
        # A bad pointer: SIGSEGV, and no RET emulated (nor a crossing traced).
        raise_fault(gate, SIGSEGV, "vsyscall fault", addr, 14)
        return True
    regs.exit_path = "iret"
    if regs.full is None:
        gate.task.thread.write_regs({"rax": regs.ax & MASK64, "rip": regs.ip, "rsp": regs.sp})
    else:
        iret(gate, regs, insn_hook=False)
