"""What the gdb stub (sysgate.debug) asks of the CPU: single steps,
watchpoints, any register by gdb's name."""
from unicorn import unicorn_const as UC
from unicorn import x86_const as X

from .regbatch import REG

# What a debugger sees beyond REG (gdb's names for the x87 registers).
_DEBUG_REG = dict(
    [(f"st{i}", getattr(X, f"UC_X86_REG_FP{i}")) for i in range(8)]
    + [(f"xmm{i}", getattr(X, f"UC_X86_REG_XMM{i}")) for i in range(16)]
    + [("mxcsr", X.UC_X86_REG_MXCSR), ("fctrl", X.UC_X86_REG_FPCW), ("fstat", X.UC_X86_REG_FPSW),
       ("ftag", X.UC_X86_REG_FPTAG), ("fiseg", X.UC_X86_REG_FCS), ("fioff", X.UC_X86_REG_FIP),
       ("foseg", X.UC_X86_REG_FDS), ("fooff", X.UC_X86_REG_FDP), ("fop", X.UC_X86_REG_FOP)])


class Debugging:
    """Engine's debugger support."""

    def step_next(self):
        """The next run() executes exactly one user instruction (a SYSCALL,
        SYSENTER or INT 0x80 with its whole system call)."""
        self._count = 1
        # Unicorn counts instructions with a code hook that blocks translated
        # before it was added lack (seen: a call into the vDSO ran on).
        self.uc.ctl_flush_tb()
        # A stop asked while gdb held the guest (the signal helper repeats
        # its request until the run loop takes the signal) would end the
        # step before its instruction: the step runs first, the request is
        # repeated after it.
        self.preempt.flag = 0

    def unhook(self, handle):
        self.uc.hook_del(handle)

    def drop_code(self, addr, size):
        """Memory at [addr, addr+size) was written behind the CPU's back:
        its translations must not run again."""
        self.uc.ctl_remove_cache(addr, addr + max(size, 1))

    def watch_pages(self, pages, on_hit):
        """Watchpoints: pages maps each watched page to 'w' (stores) or 'rw'
        (loads too). An access of that kind to such a page is refused by the
        TLB fill, so the CPU stops on the instruction; that one instruction
        then runs alone with the watch lifted and a memory hook bounded to
        the watched pages, and on_hit([(is_write, addr, size)]) hears what it
        touched there. No hook covers any page between watch hits."""
        self._watch = {p: UC.UC_PROT_WRITE | (UC.UC_PROT_READ if k == "rw" else 0)
                       for p, k in pages.items()}
        self.watch_hit = on_hit
        self.uc.ctl(UC.UC_CTL_TLB_FLUSH, UC.UC_CTL_IO_WRITE)

    def _watch_step(self, pc):
        watched, self._watch = self._watch, {}
        self.uc.ctl(UC.UC_CTL_TLB_FLUSH, UC.UC_CTL_IO_WRITE)
        seen = []

        def note(uc, access, addr, size, value, _):
            seen.append((access == UC.UC_MEM_WRITE, addr, size))
        hooks = [self.uc.hook_add(UC.UC_HOOK_MEM_READ | UC.UC_HOOK_MEM_WRITE, note, None,
                                  page, page + 0xFFF) for page in watched]
        try:
            self._count = 1
            # Blocks translated before Unicorn's counting hook was added
            # would run on past the one instruction (see step_next).
            self.uc.ctl_flush_tb()
            self.run(pc)
        finally:
            for h in hooks:
                self.uc.hook_del(h)
            self._watch = watched
            self.uc.ctl(UC.UC_CTL_TLB_FLUSH, UC.UC_CTL_IO_WRITE)
        if self.watch_hit is not None and seen:
            self.watch_hit(seen)

    def debug_reg(self, name, value=None):
        """Read (value None) or write any register a debugger shows: the
        names of REG, st0-st7 (10 bytes each), xmm0-15, mxcsr and the x87
        control registers by gdb's names."""
        rid = REG.get(name) or _DEBUG_REG[name]
        if name.startswith("st"):
            if value is None:
                mant, exp = self.uc.reg_read(rid)
                return mant.to_bytes(8, "little") + (exp & 0xFFFF).to_bytes(2, "little")
            value = (int.from_bytes(value[:8], "little"), int.from_bytes(value[8:10], "little"))
        if value is None:
            return self.uc.reg_read(rid)
        self.uc.reg_write(rid, value)

    def skip_single_step_at(self, ip):
        """The gate returns from SYSCALL or SYSENTER to ip with TF set: drop
        the single-step trap QEMU raises there before any instruction at ip
        has run (the next one, after it, is the real one)."""
        self._skip_step_at = ip
