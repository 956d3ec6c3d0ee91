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
        """calls: (name, gate, abi) -> crossings, for every crossing of the run."""
        n_all = sum(calls.values())
        here = sum(n * self.gate_cost(g, a) for (_, g, a), n in calls.items())
        kernel = {k: n for k, n in calls.items() if k[1] != "vdso"}
        fast = sum(n * (self.syscall if a == "x86_64" else self.fast32)
                   for (_, _, a), n in kernel.items())
        slow = sum(kernel.values()) * self.int80
        timecalls = {k: n for k, n in kernel.items() if k[0] in VDSO_CALLS}
        saved = sum(n * (self.gate_cost(g, a) - self.vdso) for (_, g, a), n in timecalls.items())
        lines = [
            "crossing costs on this CPU (measured natively by sysgate probe):",
            f"  SYSCALL {self.syscall:.0f} ns, INT 0x80 {self.int80:.0f} ns, "
            f"SYSENTER/compat SYSCALL ~{self.fast32:.0f} ns (est.), vDSO call {self.vdso:.0f} ns",
            f"  this run: {n_all} crossings, {here / 1000:.1f} us",
            f"  every kernel entry through INT 0x80: {slow / 1000:.1f} us; "
            f"through the fast gate: {fast / 1000:.1f} us",
            f"  time calls through the vDSO instead: {sum(timecalls.values())} calls, "
            f"{saved / 1000:.1f} us saved",
        ]
        return "\n".join(lines) + "\n"
