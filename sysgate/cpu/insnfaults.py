"""Instructions Unicorn gets wrong for user mode under Linux: three that
are no #UD on a real CPU, and port I/O, which is a #GP."""
from unicorn import UcError
from unicorn import unicorn_const as UC
from unicorn import x86_const as X

# What an instruction the CPU must not finish may have changed by the time
# Unicorn stops (the rest of its translation block runs): put back at stop.
_REWIND_REGS = ("rax rbx rcx rdx rsi rdi rbp rsp r8 r9 r10 r11 r12 r13 r14 r15 "
                "rip eflags").split()


class InsnFaults:
    """Engine's invalid-opcode and port I/O hooks."""

    def _on_invalid(self, uc, _):
        """Unicorn's #UD; run() turns it into a GuestFault, except for three
        instructions that are no #UD on a real CPU under Linux."""
        rip = uc.reg_read(X.UC_X86_REG_RIP)
        try:
            insn = self.mem_read(rip, 2)
        except UcError:
            return False
        try:
            if insn == b"\xcd\x06":
                # INT 6: Unicorn raises the #UD itself; on Linux INT n to a
                # gate that is not DPL 3 is a #GP on the instruction.
                self.gate.exception(13, rip, "INT 0x6 from user mode", err=6 << 3 | 2)
                return True
            if insn[0] == 0xF1:
                # INT1 (ICEBP): a #DB trap, reported after the instruction.
                self.gate.exception(1, rip + 1, "INT1")
                return True
            if insn == b"\x0f\x33":
                # RDPMC: #GP while CR4.PCE is clear, as it is for a process
                # that has not mapped a perf event (QEMU tests the bit the
                # wrong way round and then calls the instruction unsupported).
                self.gate.exception(13, rip, "RDPMC")
                return True
        except BaseException as e:
            self._pending_error = e
            self.uc.emu_stop()
            return True
        return False

    # (port, size) -> whether the current thread may (ioperm, iopl 3):
    # set by kernel.ioport once a thread gains a port.
    port_allowed = None

    def _on_in(self, uc, port, size, _):
        allowed = self.port_allowed
        if allowed is not None and allowed(port, size):
            return (1 << (8 * size)) - 1        # no device: a floating bus
        self._port_fault()
        return 0

    def _on_out(self, uc, port, size, value, _):
        allowed = self.port_allowed
        if allowed is not None and allowed(port, size):
            return
        self._port_fault()

    def _port_fault(self):
        """IN/OUT from user mode (IOPL 0, no I/O bitmap): #GP. The hook
        cannot abort the instruction and Unicorn stops only at the end of
        its translation block, so the registers as they are here (RIP on
        the instruction) are put back when the CPU has stopped, the gates
        ignore anything the rest of the block does, and its first memory
        access faults (the TLB is emptied and refills to a trap page while
        the rewind is pending): no store after the instruction lands."""
        if self._rewind is not None:
            return
        self._rewind = vals = self._all_regs.read()
        self.uc.ctl(UC.UC_CTL_TLB_FLUSH, UC.UC_CTL_IO_WRITE)
        try:
            self.gate.exception(13, vals[_REWIND_REGS.index("rip")], "I/O port access")
        except BaseException as e:
            self._pending_error = e
            self.uc.emu_stop()
