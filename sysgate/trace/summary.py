"""strace -c: a table per call (time share, calls, errors) and per gate."""
from collections import Counter, defaultdict

from .events import Crossing, VdsoCall


class Summary:
    def __init__(self, costs=None):
        self.costs = costs          # a CostModel, or None
        self.crossings = []         # (name, gate, abi) per crossing
        self.calls = Counter()
        self.errors = Counter()
        self.seconds = defaultdict(float)
        self.gates = defaultdict(Counter)

    def __call__(self, ev):
        if isinstance(ev, (Crossing, VdsoCall)):
            self.calls[ev.name] += 1
            if ev.result is not None and -4095 <= ev.result < 0:
                self.errors[ev.name] += 1
            self.seconds[ev.name] += getattr(ev, "seconds", 0.0)
            gate = "vdso" if isinstance(ev, VdsoCall) else f"{ev.gate}/{ev.exit_path}"
            self.gates[ev.name][gate] += 1
            self.crossings.append((ev.name, "vdso" if isinstance(ev, VdsoCall) else ev.gate,
                                   getattr(ev, "abi", "x86_64")))

    def render(self):
        total = sum(self.seconds.values()) or 1e-12
        lines = [f"{'% time':>6} {'seconds':>11} {'usecs/call':>11} {'calls':>9} "
                 f"{'errors':>9} {'syscall':<18} gates",
                 f"{'-' * 6} {'-' * 11} {'-' * 11} {'-' * 9} {'-' * 9} {'-' * 18} {'-' * 24}"]
        for name in sorted(self.calls, key=lambda n: (-self.seconds[n], n)):
            s, c = self.seconds[name], self.calls[name]
            gates = " ".join(f"{g}:{k}" for g, k in sorted(self.gates[name].items()))
            lines.append(f"{100 * s / total:>6.2f} {s:>11.6f} {1e6 * s / c:>11.0f} {c:>9} "
                         f"{self.errors[name] or '':>9} {name:<18} {gates}")
        c, e = sum(self.calls.values()), sum(self.errors.values())
        lines.append(f"{'-' * 6} {'-' * 11} {'-' * 11} {'-' * 9} {'-' * 9} {'-' * 18}")
        lines.append(f"{100:>6.2f} {sum(self.seconds.values()):>11.6f} "
                     f"{1e6 * sum(self.seconds.values()) / max(c, 1):>11.0f} {c:>9} "
                     f"{e or '':>9} {'total':<18}")
        text = "\n".join(lines) + "\n"
        if self.costs is not None:
            text += "\n" + self.costs.render(self.crossings)
        return text
