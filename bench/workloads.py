#!/usr/bin/env python3
"""Real work, natively, under qemu-user and under sysgate, in one run.

Each workload runs as a whole process under the three runners in turn
(native, qemu-user, sysgate; repeated, interleaved, so a drift of the
machine's speed hits all three alike) and is reported as the median wall
time natively and as ratios to it. The three runs must print the same
output (its hash is compared), so a fast wrong answer cannot count.

Workloads: the host's own gzip, sha256sum and python3 (dynamic programs), a
bash loop that forks and execs /bin/true, xargs running echo, four small
static C kernels (register arithmetic, loads, stores, indirect calls) from
bench/guests/kernels.c, and two thread kernels (a futex hand-off between
two threads, thread create+join) from bench/guests/threads.c. qemu-user,
like sysgate, runs the programs a guest execs only when it is told to
(binfmt_misc): here it is not, so qemu-user's fork+exec rows time its own
start-up and fork plus native children, while sysgate runs the children
itself (what qemu-user pays to run such a child itself is about its cost
of running /bin/true: 17 ms of CPU here, against sysgate's 26 ms for a
whole fork+exec of it).

The first row runs a static program that does no work: "net" is
sysgate/qemu-user once each runner's time for that row is taken out of
both, so that a compute row of a tenth of a second compares the compute
rather than the two start-ups (sysgate's, some 60 ms of Python, is most of
a small C kernel's row).

Usage: python3 bench/workloads.py [--quick] [--reps N] [--only NAME,...]
                                  [--json] [--plot FILE.png] [--cpu]
                                  [--baseline DIR]
"""
import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.join(ROOT, "build", "bench")


def build_kernels(name="kernels", extra=()):
    os.makedirs(BUILD, exist_ok=True)
    src = os.path.join(HERE, "guests", name + ".c")
    out = os.path.join(BUILD, name)
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        subprocess.run(["gcc", "-static", "-O1", *extra, "-o", out, src], check=True)
    return out


def data_file(mb):
    """mb MiB of text that compresses like prose (seeded, so every run of
    the benchmark works on the same bytes)."""
    path = os.path.join(BUILD, f"text-{mb}M.txt")
    if not os.path.exists(path):
        rng = random.Random(1)
        words = ["".join(rng.choice("etaoinshrdlucmfwyp") for _ in range(rng.randint(2, 9)))
                 for _ in range(5000)]
        with open(path + ".tmp", "w") as f:
            size = 0
            while size < mb << 20:
                line = " ".join(rng.choice(words) for _ in range(12)) + "\n"
                f.write(line)
                size += len(line)
        os.replace(path + ".tmp", path)
    return path


# A static C program that does no work: each runner's fixed cost (its own
# start, the program's start and exit). The "net" column takes it out of
# the other rows, so a short compute row compares the compute.
STARTUP = "start-up: static, no work"


def workloads(quick):
    k = build_kernels()
    th = build_kernels("threads", ["-pthread"])
    mb = 2 if quick else 8
    text = data_file(mb)
    n = 1 if quick else 4
    py = shutil.which("python3", path="/usr/bin:/bin") or "/usr/bin/python3"
    return {
        STARTUP: ([k, "regs", "0"], None),
        f"gzip -9 {mb} MB": (["/bin/gzip", "-9", "-c", text], None),
        f"sha256sum {mb * 4} MB": (["/usr/bin/sha256sum", text, text, text, text], None),
        "python3 loop": ([py, "-S", "-c",
                          f"print(sum(i * i % 7 for i in range({300000 * n})))"], None),
        "bash fork+exec x50": (["/bin/bash", "-c", "for i in $(seq 50); do /bin/true; done"],
                               None),
        "xargs -n3 echo x300": (["/usr/bin/xargs", "-n3", "/bin/echo"],
                                "".join(f"{i}\n" for i in range(900)).encode()),
        "C: register loop": ([k, "regs", str(20_000_000 * n)], None),
        "C: load loop": ([k, "loads", str(10_000_000 * n)], None),
        "C: store loop": ([k, "stores", str(10_000_000 * n)], None),
        "C: indirect calls": ([k, "calls", str(10_000_000 * n)], None),
        f"threads: futex hand-off x{4000 * n}": ([th, "handoff", str(2000 * n)], None),
        f"threads: create+join x{100 * n}": ([th, "spawn", str(100 * n)], None),
    }


def compiled(checkout):
    """checkout's modules compiled, as an installed sysgate's are: where
    PYTHONDONTWRITEBYTECODE is set no run writes them, and every run
    would time their compilation (about 0.1 s) besides its own work."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j0",
                    os.path.join(checkout, "sysgate")], stdout=subprocess.DEVNULL, check=False)


def runners(baseline=None):
    compiled(ROOT)
    if baseline:
        compiled(baseline)
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = {"native": ([], None)}
    qemu = shutil.which("qemu-x86_64")
    if qemu:
        out["qemu-user"] = ([qemu], None)
    sysgate = [sys.executable, "-m", "sysgate", "run", "--"]     # run in BUILD: see run_once
    out["sysgate"] = (sysgate, env)
    if baseline:
        # Another checkout of sysgate (the code before a change), run in
        # the same interleaved rounds: its before/after ratio is exact.
        out["baseline"] = (sysgate, dict(os.environ, PYTHONPATH=os.path.abspath(baseline)))
    return out


CPU = False     # --cpu: CPU seconds of the run's processes instead of wall time


def run_once(prefix, env, argv, stdin):
    t0 = time.perf_counter()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    # In BUILD: `python3 -m sysgate` puts its working directory first on
    # sys.path, where a checkout's root would shadow --baseline's PYTHONPATH.
    p = subprocess.run(prefix + argv, input=stdin, capture_output=True, env=env,
                       timeout=1800, cwd=BUILD)
    dt = time.perf_counter() - t0
    if CPU:
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        dt = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if p.returncode:
        raise RuntimeError(f"{' '.join(prefix + argv)[:120]}: status {p.returncode}: "
                           f"{p.stderr[-300:]!r}")
    return dt, hashlib.sha256(p.stdout).hexdigest()


def measure(quick, reps, only, baseline=None):
    loads = workloads(quick)
    if only:
        loads = {k: v for k, v in loads.items() if any(o in k for o in only)}
    rs = runners(baseline)
    results = {}
    for name, (argv, stdin) in loads.items():
        times = {r: [] for r in rs}
        digests = {}
        for _ in range(reps):
            for r, (prefix, env) in rs.items():
                dt, digest = run_once(prefix, env, argv, stdin)
                times[r].append(dt)
                digests[r] = digest
        if len(set(digests.values())) != 1:
            raise RuntimeError(f"{name}: the runners disagree on the output: {digests}")
        med = {r: statistics.median(ts) for r, ts in times.items()}
        row = {"native_s": med["native"]}
        for r in rs:
            if r != "native":
                row[f"{r}_s"] = med[r]
                row[f"{r}/native"] = med[r] / med["native"]
        if "qemu-user" in med:
            row["sysgate/qemu-user"] = med["sysgate"] / med["qemu-user"]
        if "baseline" in med:
            row["sysgate/baseline"] = med["sysgate"] / med["baseline"]
        if STARTUP in results and "qemu-user" in med and name != STARTUP:
            s0 = results[STARTUP]
            net_s = med["sysgate"] - s0["sysgate_s"]
            net_q = med["qemu-user"] - s0["qemu-user_s"]
            if net_q > 0 and net_s > 0:
                row["sysgate/qemu-user net"] = net_s / net_q
        results[name] = row
        print(f"  {name}: " + ", ".join(f"{k} {v:.3g}" for k, v in row.items()),
              file=sys.stderr, flush=True)
    return results


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(results)
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(names) + 1.5))
    y = range(len(names))
    for i, (key, label) in enumerate((("qemu-user/native", "qemu-user"),
                                      ("sysgate/native", "sysgate"))):
        vals = [results[n].get(key, 0) for n in names]
        ax.barh([v + 0.4 * i for v in y], vals, height=0.4, label=label)
    ax.set_yticks([v + 0.2 for v in y])
    ax.set_yticklabels(names)
    ax.set_xscale("log")
    ax.set_xlabel("time / native time (log scale; lower is better)")
    ax.axvline(1, color="black", linewidth=0.8)
    ax.legend()
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller inputs")
    ap.add_argument("--reps", type=int, default=3, help="runs of each (median taken)")
    ap.add_argument("--only", default="", help="comma-separated parts of workload names")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--plot", metavar="FILE.png")
    ap.add_argument("--cpu", action="store_true",
                    help="CPU seconds (user+system of every process of a run) instead of wall "
                         "time: far steadier on a machine others are using")
    ap.add_argument("--baseline", metavar="DIR",
                    help="also run the sysgate checkout in DIR, interleaved: sysgate/baseline")
    opts = ap.parse_args()
    if opts.reps < 1:
        ap.error("--reps must be at least 1")
    global CPU
    CPU = opts.cpu
    only = [o for o in opts.only.split(",") if o]
    results = measure(opts.quick, opts.reps, only, opts.baseline)
    if opts.plot:
        plot(results, opts.plot)
    if opts.json:
        print(json.dumps(results, indent=2))
        return
    have_qemu = any("qemu-user_s" in r for r in results.values())
    head = f"{'workload':<22} {'native':>9}"
    if have_qemu:
        head += f" {'qemu/nat':>9}"
    head += f" {'sysgate/nat':>12}"
    if have_qemu:
        head += f" {'sysgate/qemu':>13}"
    have_base = any("sysgate/baseline" in r for r in results.values())
    have_net = any("sysgate/qemu-user net" in r for r in results.values())
    if have_net:
        head += f" {'net':>6}"
    if have_base:
        head += f" {'sysgate/base':>13}"
    print(head)
    for name, r in results.items():
        line = f"{name:<22} {r['native_s']:>8.3f}s"
        if have_qemu:
            line += f" {r['qemu-user/native']:>9.2f}"
        line += f" {r['sysgate/native']:>12.2f}"
        if have_qemu:
            line += f" {r['sysgate/qemu-user']:>13.2f}"
        if have_net:
            net = r.get("sysgate/qemu-user net")
            line += f" {net:>6.2f}" if net else f" {'':>6}"
        if have_base:
            line += f" {r['sysgate/baseline']:>13.2f}"
        print(line)


if __name__ == "__main__":
    main()
