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
        """The probe's figures, measured once per boot of the host and kept
        in the user's cache beside the TSC figure (vdso.vvar): a traced run
        pays for a measurement only the first time."""
        ns = _cached_probe()
        if ns is None:
            from ..probe import host
            ns = host.measure(n)
            _store_probe(ns)
        return cls(ns)

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


_PROBE_KEYS = ("SYSCALL getpid", "INT 0x80 getpid (64-bit code)")


def _probe_path():
    from ..vdso.vvar import _tsc_cache_path
    path = _tsc_cache_path()
    return None if path is None else path.replace("/tsc-", "/probe-") + ".json"


def _cached_probe():
    import json
    path = _probe_path()
    if path is None:
        return None
    try:
        with open(path) as f:
            ns = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(ns, dict) or not all(
            isinstance(ns.get(k), (int, float)) and ns[k] >= 0 for k in _PROBE_KEYS):
        return None
    return ns


def _store_probe(ns):
    import json
    import os
    path = _probe_path()
    if path is None:
        return
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(ns, f)
        os.replace(tmp, path)
    except OSError:
        pass
