"""Exceptions and interrupts from user mode, as arch/x86/kernel/traps.c:
the signal each one sends, with the si_code, si_addr and trap number
Linux's handlers give it.

A gate that sees an exception (INT n, a #UD for a gate this CPU lacks, a
#GP) records it with raise_fault and stops the CPU; the run loop then
delivers it (deliver_raised), as it delivers a fault the CPU itself raised
(page_fault). Delivery builds the frame through the one way back
(entry.exit); the signal is forced, as force_sig_fault forces it.
"""
from ..abi.consts import (BUS_ADRERR, FPE_INTDIV, ILL_ILLOPN, SEGV_ACCERR, SEGV_MAPERR,
                          SIGBUS, SIGFPE, SIGILL, SIGSEGV, SIGTRAP, TRAP_BRKPT, TRAP_TRACE)
from ..cpu.engine import REG
from ..kernel.sigframe import siginfo
from ..kernel.signal import SI_KERNEL, GuestSignal
from .exit import deliver_signal
from .syscall import TASK_SIZE_MAX


# Exceptions and the signal Linux sends for each.
EXCEPTION_SIGNALS = {0: SIGFPE, 1: SIGTRAP, 3: SIGTRAP, 4: SIGSEGV, 5: SIGSEGV, 6: SIGILL,
                     7: SIGSEGV, 8: SIGSEGV, 10: SIGSEGV, 11: SIGBUS, 12: SIGBUS, 13: SIGSEGV,
                     14: SIGSEGV, 16: SIGFPE, 17: SIGBUS, 19: SIGFPE}
# The vectors whose IDT gates are DPL 3 on a 64-bit Linux kernel (besides
# 0x80): INT3 and INTO. INT n to any other vector is a #GP, whatever the
# vector would mean if the CPU raised it.
USER_VECTORS = {3: SIGTRAP, 4: SIGSEGV}


def do_interrupt(gate, vector):
    """INT n (n != 0x80) or an exception Unicorn reports as an interrupt.
    Only RIP tells them apart: after INT n it is past the instruction, at
    an exception it is on the faulting instruction."""
    ip = gate.cpu.reg_read(REG["rip"])
    length = _software_interrupt(gate.cpu, vector, ip)
    if not length:
        return do_exception(gate, vector, ip, f"exception {vector}", err=gate.cpu.error_code())
    if vector in USER_VECTORS:
        # A trap through a DPL-3 gate: reported after the instruction.
        return raise_fault(gate, USER_VECTORS[vector], f"INT {vector}", ip, vector)
    # Not allowed from user mode: #GP on the INT instruction itself, its
    # error code naming the IDT entry (vector << 3 | IDT bit).
    raise_fault(gate, SIGSEGV, f"INT {vector:#x} from user mode", ip - length, 13,
                err=vector << 3 | 2)


def _software_interrupt(cpu, vector, ip):
    """The length of the INT n (or INT3, INTO) that ends just before ip,
    or 0 when ip follows no such instruction."""
    try:
        before = cpu.mem_read(ip - 2, 2)
    except Exception:
        return 0
    if before == bytes((0xCD, vector)):
        return 2
    if (vector, before[1]) in ((3, 0xCC), (4, 0xCE)):
        return 1
    return 0


def do_exception(gate, vector, ip, why, err=0):
    """An exception the CPU raised at ip (a fault: the instruction; a
    trap: the one after), delivered as Linux's trap handlers do."""
    if vector == 1:
        # #DB: a single step is TRAP_TRACE, ICEBP TRAP_BRKPT, both with
        # the IP in si_addr (send_sigtrap).
        code = TRAP_BRKPT if why == "INT1" else TRAP_TRACE
        return raise_fault(gate, SIGTRAP, why, ip, 1, code=code, addr=ip)
    raise_fault(gate, EXCEPTION_SIGNALS.get(vector, SIGSEGV), why, ip, vector, err=err)


def raise_fault(gate, signo, why, ip=None, trapno=0, err=0, code=None, addr=None):
    """An exception in user mode, seen inside a CPU hook: the run loop
    delivers it once the CPU has stopped. code and addr default to what
    Linux's trap handlers report for signo."""
    if trapno == 1 and gate.fault is not None:
        # The instruction itself faulted (SYSENTER's #UD on AMD): a
        # fault ends it, and TF's trap comes only after an instruction
        # that completes; Unicorn's step after the hook would be a second.
        return
    gate.fault = (signo, why, ip, trapno, err, code, addr)
    gate.cpu.stop()


def deliver_raised(gate, task):
    """Deliver the exception raise_fault recorded."""
    signo, why, ip, trapno, err, code, addr = gate.fault
    gate.fault = None
    if code is None:
        code = {SIGILL: ILL_ILLOPN, SIGFPE: FPE_INTDIV}.get(signo, SI_KERNEL)
    if addr is None:
        addr = 0 if code == SI_KERNEL else (
            ip if ip is not None else gate.cpu.reg_read(REG["rip"]))
    deliver_fault(task, signo, code, addr, (trapno, err, 0), ip)


def page_fault(task, f):
    """A GuestFault (cpu.engine) from user code: True once its signal is
    delivered, False when the fault was the kernel's own business and the
    instruction runs again. A signal that kills raises GuestSignal with
    the fault's own description."""
    fault = fault_signal(task, f)
    if fault is None:
        return False
    signo, code, addr, trap, why = fault
    try:
        deliver_fault(task, signo, code, addr, trap)
    except GuestSignal as s:
        raise GuestSignal(s.signo, why) from None
    return True


def fault_signal(task, f):
    """(signo, code, si_addr, trap, why) for a GuestFault, as Linux's
    page-fault and #UD handlers report them; None when the page fault
    was the kernel's own business and the instruction runs again (a
    file page the file has grown to cover, a vfork child's store)."""
    if f.kind == "ill":
        return SIGILL, ILL_ILLOPN, f.addr, (6, 0, 0), "invalid opcode"
    mm = task.mm
    if f.mapped and f.kind == "write" and mm.note_write(f.addr):
        return None         # a vfork child's first store to a page
    past_eof = None if f.mapped else mm.fault_in(f.addr, f.kind)
    if past_eof:
        return None
    # Error code: user access, write, instruction fetch, and P, which
    # Linux sets for any address from TASK_SIZE_MAX up so as not to tell
    # user space which kernel pages exist (sanitize_error_code).
    present = f.mapped or f.addr >= TASK_SIZE_MAX
    err = 4 | (1 if present else 0) | (2 if f.kind == "write" else 0) \
        | (16 if f.kind == "exec" else 0)
    trap = (14, err, f.addr)
    if past_eof is False:
        return SIGBUS, BUS_ADRERR, f.addr, trap, f"{f.kind} past end of file at {f.addr:#x}"
    # A mapping whose pages are not there yet (reserved, or past the
    # end of its file) still makes it an access error.
    code = SEGV_ACCERR if f.mapped or mm.find(f.addr) else SEGV_MAPERR
    return SIGSEGV, code, f.addr, trap, f"{f.kind} fault at {f.addr:#x}"


def deliver_fault(task, signo, code, addr, trap, ip=None):
    """force_sig_fault: signo with its siginfo, on the registers of the
    faulting instruction (ip, when the gate knows it better than RIP)."""
    thread = task.thread
    regs = thread.read_regs()
    if ip is not None:
        regs["rip"] = ip
    info = siginfo(signo, code, True, addr=addr)
    if not deliver_signal(task, signo, regs, info, trap, forced=True) and ip is not None:
        thread.write_regs({"rip": regs["rip"]})     # (a ptrace tracer may have moved it)
