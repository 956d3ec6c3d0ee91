"""strace -c: a table per call (time share, calls, errors) and per gate.

With -f every process of the run counts: a forked child (a host process of
its own) appends its tallies to a spool file when it ends, and the first
process adds them in before it prints."""
import json
import os
from collections import Counter, defaultdict

from .events import Crossing, ExitEvent, VdsoCall


class Summary:
    def __init__(self, costs=None, spool=None):
        self.costs = costs          # a CostModel, or None
        self.spool = spool          # path where followed children leave their tallies
        self.pid = os.getpid()
        self.after_fork()

    def after_fork(self):
        self.crossings = Counter()  # (name, gate, abi) -> crossings
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
            self.crossings[ev.name, "vdso" if isinstance(ev, VdsoCall) else ev.gate,
                           getattr(ev, "abi", "x86_64")] += 1
        elif isinstance(ev, ExitEvent) and self.spool and os.getpid() != self.pid:
            self._leave_tallies()

    def _leave_tallies(self):
        record = {"calls": self.calls, "errors": self.errors, "seconds": self.seconds,
                  "gates": self.gates, "crossings": [[*k, n] for k, n in self.crossings.items()]}
        line = (json.dumps(record) + "\n").encode()
        try:
            fd = os.open(self.spool, os.O_WRONLY | os.O_APPEND)
        except OSError:
            return                      # the first process has printed and gone
        try:
            os.write(fd, line)          # one write: appends from processes do not mix
        finally:
            os.close(fd)

    def _take_spool(self):
        if not self.spool:
            return
        try:
            with open(self.spool) as f:
                records = [json.loads(line) for line in f if line.endswith("\n")]
        except (OSError, ValueError):
            return
        for r in records:
            self.calls.update(r["calls"])
            self.errors.update(r["errors"])
            for name, s in r["seconds"].items():
                self.seconds[name] += s
            for name, g in r["gates"].items():
                self.gates[name].update(g)
            for name, gate, abi, n in r["crossings"]:
                self.crossings[name, gate, abi] += n
        self.spool = None

    def render(self):
        self._take_spool()
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
