#!/usr/bin/env python3
"""Start-up and fork+exec, in CPU seconds, in one interleaved run.

Rows:
- "run hello": one whole `python3 -m sysgate run` of a static hello
  (interpreter start, imports, the machine, the program, the end);
- "sysgate run hello": the same through the `sysgate` command (the
  checkout's bin/sysgate, or the wrapper pip writes for an older
  checkout's entry point), run with python3 -c, so that no install is
  needed;
- "python3 -c pass": the interpreter's own start, for scale;
- "fork+exec": what one fork, exec of a static program, its exit and the
  wait cost inside a guest (bench/guests/spawn.c): the slope between a run
  of N such children and a run of none, so start-up cancels;
  "fork+exec, dynamic" the same with spawn.c linked dynamically (a dynamic
  parent exec'ing a dynamic child, as a shell's loop does: the one
  kernel/keepinterp.py serves). qemu-user runs an exec'd child natively
  (no binfmt_misc), so it has no fork+exec figure; "run /bin/true
  (dynamic)" is what running such a child costs each runner from nothing.

Each figure is the CPU time (user + system) of the run's processes, the
children's rusage (a forked guest child is sysgate's host child, reaped by
it, so it is counted), which other people's load disturbs far less than
wall time. Medians of --reps rounds; the runners (this checkout, and with
--baseline DIR another one, and qemu-x86_64 and native when present) take
turns in every round.

Usage: python3 bench/startup.py [--reps N] [--children N] [--baseline DIR] [--json]
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.join(ROOT, "build", "bench")

HELLO = r'#include <stdio.h>' '\n' r'int main(void) { puts("hello"); return 0; }' '\n'


def build():
    os.makedirs(BUILD, exist_ok=True)
    hello_c = os.path.join(BUILD, "hello.c")
    with open(hello_c, "w") as f:
        f.write(HELLO)
    out = {}
    spawn_c = os.path.join(HERE, "guests", "spawn.c")
    for name, src, static in (("hello", hello_c, ["-static"]), ("spawn", spawn_c, ["-static"]),
                              ("spawn-dyn", spawn_c, [])):
        exe = os.path.join(BUILD, name)
        if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
            subprocess.run(["gcc", *static, "-O1", "-o", exe, src], check=True)
        out[name] = exe
    return out


def cpu_of(argv, env=None):
    """CPU seconds of argv's whole run (it and every child it reaped). It
    runs in BUILD: `python3 -m sysgate` puts its working directory first
    on sys.path, and from a checkout's root a baseline's PYTHONPATH would
    lose to it."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(argv, capture_output=True, env=env, timeout=600, cwd=BUILD)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode:
        raise RuntimeError(f"{' '.join(argv)[:120]}: status {p.returncode}: {p.stderr[-300:]!r}")
    return (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def console_script(checkout):
    """The `sysgate` command's code for checkout: its bin/sysgate, or for an
    older checkout the wrapper pip writes for its [project.scripts] entry."""
    script = os.path.join(checkout, "bin", "sysgate")
    if os.path.exists(script):
        with open(script) as f:
            return f.read()
    import tomllib
    with open(os.path.join(checkout, "pyproject.toml"), "rb") as f:
        module, _, func = tomllib.load(f)["project"]["scripts"]["sysgate"].partition(":")
    return (f"import re\nimport sys\nfrom {module} import {func}\n"
            "if __name__ == '__main__':\n"
            "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
            f"    sys.exit({func}())\n")


def runners(baseline):
    from workloads import compiled      # bench/ is sys.path[0] when run as a script
    compiled(ROOT)
    if baseline:
        compiled(baseline)
    py = sys.executable
    out = {"sysgate": ([py, "-m", "sysgate", "run", "--"], dict(os.environ, PYTHONPATH=ROOT))}
    if baseline:
        out["baseline"] = ([py, "-m", "sysgate", "run", "--"],
                           dict(os.environ, PYTHONPATH=os.path.abspath(baseline)))
    qemu = shutil.which("qemu-x86_64")
    if qemu:
        out["qemu-user"] = ([qemu], None)
    out["native"] = ([], None)
    return out


def measure(reps, children, baseline):
    exe = build()
    rs = runners(baseline)
    rows = {"run hello": {r: [] for r in rs}, "sysgate run hello": {},
            "fork+exec": {r: [] for r in rs}, "fork+exec, dynamic": {r: [] for r in rs},
            "run /bin/true (dynamic)": {r: [] for r in rs}, "python3 -c pass": {"python3": []}}
    for r, checkout in (("sysgate", ROOT), ("baseline", baseline)):
        if r in rs:
            rows["sysgate run hello"][r] = []
            rs[r] += ([sys.executable, "-c", console_script(checkout), "run", "--"],)
    spawns = (("fork+exec", os.path.realpath(exe["spawn"])),
              ("fork+exec, dynamic", os.path.realpath(exe["spawn-dyn"])))
    for _ in range(reps):
        rows["python3 -c pass"]["python3"].append(cpu_of([sys.executable, "-c", "pass"]))
        for r, (prefix, env, *command) in rs.items():
            rows["run hello"][r].append(cpu_of(prefix + [exe["hello"]], env))
            rows["run /bin/true (dynamic)"][r].append(cpu_of(prefix + ["/bin/true"], env))
            if command:
                rows["sysgate run hello"][r].append(cpu_of(command[0] + [exe["hello"]], env))
            if r == "qemu-user":
                continue      # no binfmt_misc: its children would run natively
            for row, spawn in spawns:
                none = cpu_of(prefix + [spawn, "0"], env)
                some = cpu_of(prefix + [spawn, str(children)], env)
                rows[row][r].append((some - none) / children)
    return {row: {r: statistics.median(v) for r, v in cols.items() if v}
            for row, cols in rows.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--children", type=int, default=20)
    ap.add_argument("--baseline", metavar="DIR",
                    help="another sysgate checkout (the code before a change), interleaved")
    ap.add_argument("--json", action="store_true")
    opts = ap.parse_args()
    res = measure(opts.reps, opts.children, opts.baseline)
    if opts.json:
        print(json.dumps(res, indent=2))
        return 0
    cols = sorted({c for v in res.values() for c in v},
                  key=["sysgate", "baseline", "qemu-user", "native", "python3"].index)
    print(f"{'ms of CPU (median of ' + str(opts.reps) + ')':<26}"
          + "".join(f"{c:>11}" for c in cols)
          + (f"{'sg/base':>9}" if "baseline" in cols else ""))
    for row, v in res.items():
        line = f"{row:<26}" + "".join(f"{v[c] * 1e3:>11.1f}" if c in v else f"{'':>11}"
                                      for c in cols)
        if "baseline" in v:
            line += f"{v['sysgate'] / v['baseline']:>9.2f}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
