#!/usr/bin/env python3
"""Run this bench's LTP subset (built by bench/ltp/build.sh) natively, under
qemu-user and under sysgate, and print pass counts and every failing test
with its TFAIL/TBROK line.

    python3 bench/ltp/run.py [--bits 64,32] [--runners native,qemu,sysgate]
                             [--only t1,t2] [--jobs 2] [--timeout 180]

An LTP test passes when it exits 0; 32 is TCONF (not applicable: counted
apart, as "conf"). Each run gets its own TMPDIR. Not part of CI."""
import argparse
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests"))
from selftests_kit import kill_session  # noqa: E402  (one copy, shared with the selftests)
OUT = os.path.join(TOP, "build", "ltp")
LIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests.txt")


def tests():
    out = []
    with open(LIST) as f:
        for line in f:
            w = line.split()
            if w and not w[0].startswith("#"):
                out += [t for t in w[1:] if "child" not in t]
    return out


def cmd(runner, exe, bits):
    if runner == "native":
        return [exe]
    if runner == "qemu":
        return ["qemu-x86_64" if bits == 64 else "qemu-i386", exe]
    cpu = runner.split("-", 1)[1] if "-" in runner else "intel"
    return [sys.executable, "-m", "sysgate", "run", "--cpu", cpu, exe]




def run(runner, name, bits, timeout):
    bindir = os.path.join(OUT, f"bin{bits}")
    exe = os.path.join(bindir, name)
    if not os.path.exists(exe):
        return "notbuilt", "not built", 0.0
    # LTP looks for the helpers a test copies or execs in $LTPROOT/testcases/bin
    ltproot = os.path.join(OUT, f"root{bits}")
    if not os.path.exists(os.path.join(ltproot, "testcases", "bin")):
        os.makedirs(os.path.join(ltproot, "testcases"), exist_ok=True)
        try:
            os.symlink(bindir, os.path.join(ltproot, "testcases", "bin"))
        except FileExistsError:
            pass
    tmp = tempfile.mkdtemp(prefix="ltp-")
    os.chmod(tmp, 0o1777)       # as /tmp: tests that drop root make their directory there
    try:
        env = dict(os.environ, TMPDIR=tmp, PYTHONPATH=TOP, LTP_TIMEOUT_MUL="6",
                   LTPROOT=ltproot, PATH=bindir + ":" + os.environ.get("PATH", "/usr/bin:/bin"),
                   LTP_COLORIZE_OUTPUT="0")
        t0 = time.time()
        p = subprocess.Popen(cmd(runner, exe, bits), cwd=tmp, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            out, _ = p.communicate(timeout=timeout)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            kill_session(p.pid)
            try:
                out, _ = p.communicate(timeout=10)
            except subprocess.TimeoutExpired:     # a process that left the session holds the pipe
                out = b""
            rc = None
        dt = time.time() - t0
    finally:
        # a test killed while it had something mounted there leaves it
        for line in open("/proc/self/mounts").read().splitlines()[::-1]:
            mnt = line.split()[1]
            if mnt.startswith(tmp + "/"):
                subprocess.run(["umount", "-l", mnt], stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)
    text = out.decode(errors="replace")
    if rc is None:
        return "timeout", last_bad(text) or "timed out", dt
    if rc == 0:
        return "pass", "", dt
    if rc == 32:
        return "conf", first(text, ("TCONF",)) or "TCONF", dt
    if rc < 0:
        return "fail", f"killed by {signal.Signals(-rc).name}; " + (last_bad(text) or ""), dt
    return "fail", last_bad(text) or f"exit {rc}: " + (text.strip().splitlines() or [""])[-1][:150], dt


def first(text, pats):
    for l in text.splitlines():
        if any(p in l for p in pats):
            return l.strip()[:220]
    return None


def last_bad(text):
    return first(text, ("TFAIL", "TBROK", "internal error", "Traceback")) or \
        first(text, ("TWARN",))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bits", default="64,32")
    ap.add_argument("--runners", default="native,qemu,sysgate")
    ap.add_argument("--only", default="")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=180)
    ap.add_argument("--json", default=os.path.join(OUT, "results.json"))
    a = ap.parse_args()
    names = a.only.split(",") if a.only else tests()
    runners = a.runners.split(",")
    jobs = [(b, n, r) for b in map(int, a.bits.split(",")) for n in names for r in runners
            if os.path.exists(os.path.join(OUT, f"bin{b}", n)) or r == runners[0]]
    res = {}
    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        futs = {ex.submit(run, r, n, b, a.timeout): (b, n, r) for b, n, r in jobs}
        done = 0
        for f in concurrent.futures.as_completed(futs):
            res[futs[f]] = r = f.result()
            done += 1
            b, n, rn = futs[f]
            print(f"[{done}/{len(futs)} {time.time() - t0:.0f}s] {b} {n} {rn}: {r[0]} {r[1][:120]}",
                  file=sys.stderr, flush=True)
    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump({f"{b}/{n}/{r}": v for (b, n, r), v in res.items()}, f, indent=1)
    for b in map(int, a.bits.split(",")):
        built = [n for n in names if (b, n, runners[0]) in res and res[(b, n, runners[0])][0] != "notbuilt"]
        if not built:
            continue
        print(f"== LTP {b}-bit: {len(built)} tests built of {len(names)}")
        for r in runners:
            c = {}
            for n in built:
                s = res.get((b, n, r), ("-",))[0]
                c[s] = c.get(s, 0) + 1
            print(f"{r:>10}: pass {c.get('pass', 0)}, conf {c.get('conf', 0)}, fail {c.get('fail', 0)}, "
                  f"timeout {c.get('timeout', 0)}")
        for r in runners:
            for n in built:
                s, why, dt = res.get((b, n, r), ("-", "", 0))
                if s in ("fail", "timeout"):
                    nat = res.get((b, n, "native"), ("-",))[0]
                    print(f"  {r} {b} {n} [{s}; native {nat}]: {why}")
    print(f"({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
