"""A cost model of kernel crossings on the host CPU, fed by the probe's
native measurements: what this run's crossings would cost natively, and
what they would cost through another gate or with the vDSO."""
VDSO_CALLS = {"clock_gettime", "clock_gettime64", "gettimeofday", "time", "getcpu",
              "clock_getres", "clock_getres_time64"}


class CostModel:
    def __init__(self, ns):
        """ns: the probe's results (operation name -> ns per operation)."""
        self.syscall = ns["SYSCALL getpid"]
        self.int80 = ns["INT 0x80 getpid (64-bit code)"]
        self.vdso = ns.get("vDSO clock_gettime", 0.0)
        # SYSENTER and compat SYSCALL cannot be entered from the probe's
        # 64-bit process: modelled at the cost of 64-bit SYSCALL, the same
        # kind of fast path (marked as an estimate in the report).
        self.fast32 = self.syscall

    @classmethod
    def from_probe(cls, n=20_000):
        from ..probe import host
        return cls(host.measure(n))

    def gate_cost(self, gate, abi):
        if gate == "vdso":
            return self.vdso
        if gate == "int80":
            return self.int80
        if gate == "syscall" and abi == "x86_64":
            return self.syscall
        # SYSENTER, compat SYSCALL, and the legacy vsyscall page's emulation
        # (a trapping fetch, priced like a fast entry).
        return self.fast32

    def render(self, calls):
        """calls: list of (name, gate, abi) for every crossing of the run."""
        here = sum(self.gate_cost(g, a) for _, g, a in calls)
        kernel = [(n, g, a) for n, g, a in calls if g != "vdso"]
        fast = sum(self.syscall if a == "x86_64" else self.fast32 for _, _, a in kernel)
        slow = len(kernel) * self.int80
        timecalls = [c for c in kernel if c[0] in VDSO_CALLS]
        saved = sum(self.gate_cost(g, a) - self.vdso for _, g, a in timecalls)
        lines = [
            "crossing costs on this CPU (measured natively by sysgate probe):",
            f"  SYSCALL {self.syscall:.0f} ns, INT 0x80 {self.int80:.0f} ns, "
            f"SYSENTER/compat SYSCALL ~{self.fast32:.0f} ns (est.), vDSO call {self.vdso:.0f} ns",
            f"  this run: {len(calls)} crossings, {here / 1000:.1f} us",
            f"  every kernel entry through INT 0x80: {slow / 1000:.1f} us; "
            f"through the fast gate: {fast / 1000:.1f} us",
            f"  time calls through the vDSO instead: {len(timecalls)} calls, "
            f"{saved / 1000:.1f} us saved",
        ]
        return "\n".join(lines) + "\n"
