"""The register view of one guest thread: what the kernel may see and
change of the CPU beyond pt_regs. Each guest thread (kernel.task.Task)
owns one as its `thread`."""
from .regbatch import REG


USER_REGS = ("rax rbx rcx rdx rsi rdi rbp rsp r8 r9 r10 r11 r12 r13 r14 r15 "
             "rip eflags cs ss ds es fs gs").split()
SEGMENTS = ("cs", "ss", "ds", "es", "fs", "gs")
# Unicorn's reg_write sets only the selector of these in 64-bit mode.
CACHED_SEGMENTS = ("cs", "ss", "ds", "es")
TLS_MIN = 12


class Thread:
    """What the kernel may see and change of the CPU beyond pt_regs: the
    whole user register file (for signal frames and sigreturn), FPU state,
    segment bases and the TLS descriptors of the GDT. Each guest thread has
    one; while its thread is switched out the CPU context is kept here
    (save/load), with its own three TLS descriptors."""

    def __init__(self, cpu, gate):
        self.cpu = cpu
        self.gate = gate            # its set_frame rewrites the call in progress
        self._all = cpu.batch(USER_REGS)
        self.ctx = None             # the Unicorn context while switched out
        self.tls = None             # its GDT TLS entries, once it has its own
        self.first = None           # registers a new thread starts with

    def read_regs(self):
        vals = self._all.read()
        regs = dict(zip(USER_REGS, vals))
        for seg in SEGMENTS:
            regs[seg] &= 0xFFFF
        return regs

    def write_regs(self, regs):
        """Write back a register file; segment registers only where they
        change, since loading one reloads its descriptor."""
        cur = None
        out = []
        loads = {}
        for name, value in regs.items():
            if name in SEGMENTS:
                cur = cur or self.read_regs()
                if cur[name] == value & 0xFFFF:
                    continue
                if name in CACHED_SEGMENTS:
                    loads[name] = value & 0xFFFF
                    continue
            out.append((REG[name], value & ((1 << 64) - 1)))
        if loads:
            from ..kernel.ldt import load_segments
            load_segments(self, loads)
        self.cpu.reg_write_batch(out)

    def user_sp(self):
        return self.cpu.reg_read(REG["rsp"])

    def read_fpu(self):
        return self.cpu.read_fpu(16)

    def write_fpu(self, fpu):
        self.cpu.write_fpu(fpu)

    def set_frame(self, regs):
        """sigreturn: the call in progress returns to these registers."""
        self.gate.current.full = regs

    def set_base(self, seg, value):
        if self.first is not None:
            self.first[seg + "_base"] = value
        else:
            self.cpu.reg_write(REG[seg + "_base"], value)

    def get_base(self, seg):
        return self.cpu.reg_read(REG[seg + "_base"])

    def write_gdt(self, index, raw):
        if self.tls is not None and TLS_MIN <= index < TLS_MIN + 3:
            self.tls[index - TLS_MIN] = bytes(raw)
            if self.first is not None:
                return          # a new thread: its entries go in when it first runs
        self.cpu.write_gdt_entry(index, raw)

    def read_gdt(self, index):
        if self.tls is not None and TLS_MIN <= index < TLS_MIN + 3:
            return self.tls[index - TLS_MIN]
        return self.cpu.read_gdt_entry(index)

    # --- switching threads ---------------------------------------------
    def save(self):
        if self.ctx is None:
            self.ctx = self.cpu.context_save()
        else:
            self.cpu.context_update(self.ctx)
        self.skip_step = self.cpu.take_skip_step()

    def load(self):
        cpu = self.cpu
        cpu.context_restore(self.ctx)
        cpu.set_skip_step(getattr(self, "skip_step", None))
        tls = self.tls
        if tls is not None and tls != cpu.tls_loaded:
            # Most switches are between threads whose TLS entries are
            # the same (x86-64 threads leave them empty): no write then.
            for i, raw in enumerate(tls):
                cpu.write_gdt_entry(TLS_MIN + i, raw)
            cpu.tls_loaded = list(tls)
        if self.first is not None:
            first, self.first = self.first, None
            segs = {k: first.pop(k) for k in ("fs", "gs") if k in first}
            if first.get("cs") != 0x23:
                segs = {}       # 64-bit: the selectors are the parent's, bases set below
            bases = [(REG[k], first.pop(k)) for k in ("fs_base", "gs_base") if k in first]
            self.write_regs(first)
            for k, v in segs.items():
                cpu.reg_write(REG[k], v)        # reload: its descriptor may be new
            if bases:
                cpu.reg_write_batch(bases)

    def spawn(self, regs):
        """The Thread of a new thread: this one's CPU context and TLS, with
        regs (its registers on return from clone) put in when it first runs."""
        child = Thread(self.cpu, self.gate)
        child.ctx = self.cpu.context_save()
        if self.tls is None:
            self.tls = [self.cpu.read_gdt_entry(TLS_MIN + i) for i in range(3)]
        child.tls = list(self.tls)
        child.first = dict(regs)
        return child

