"""Differential testing: build real C programs with the real toolchain, run
them natively and under sysgate, and compare what they print and how they end."""
import hashlib
import os
import shutil
import signal
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUESTS = os.path.join(ROOT, "tests", "guests")
BUILD = os.path.join(ROOT, "build", "guests")

# variant -> compiler command line (static, as issue #2 asks)
VARIANTS = {
    "gcc64": ["gcc", "-static", "-O1", "-g0"],
    "gcc32": ["gcc", "-m32", "-static", "-O1", "-g0"],
    "musl64": ["musl-gcc", "-static", "-O1", "-g0"],
}
ALL = tuple(VARIANTS)
# The same programs linked dynamically: ld.so, libc.so and the vDSO as a
# dynamic libc uses them.
DYNAMIC = {
    "gcc64-dyn": ["gcc", "-O1", "-g0"],
    "gcc32-dyn": ["gcc", "-m32", "-O1", "-g0"],
    "musl64-dyn": ["musl-gcc", "-O1", "-g0"],
}
VARIANTS.update(DYNAMIC)


BENCH_GUESTS = os.path.join(ROOT, "bench", "guests")


def build(src, variant, extra=(), guests=GUESTS):
    """Compile <guests>/<src> (tests/guests, or BENCH_GUESTS) for variant;
    cached by content and flags."""
    path = os.path.join(guests, src)
    cmd = VARIANTS[variant] + list(extra)
    with open(path, "rb") as f:
        key = hashlib.sha256(f.read() + repr(cmd).encode()).hexdigest()[:12]
    os.makedirs(BUILD, exist_ok=True)
    out = os.path.join(BUILD, f"{os.path.splitext(src)[0]}-{variant}-{key}")
    if not os.path.exists(out):
        if shutil.which(cmd[0]) is None:
            pytest.fail(f"{cmd[0]} is not installed (see .ci/run for the packages)")
        r = subprocess.run(cmd + ["-o", out + ".tmp", path], capture_output=True, text=True)
        if r.returncode:
            pytest.fail(f"build of {src} for {variant} failed:\n{r.stderr}")
        os.replace(out + ".tmp", out)
    return out


_COUNT_CALLS = r"""
import sys
sys.path.insert(0, sys.argv[1])
from sysgate.machine import Machine
exe, cpu, replace = sys.argv[2], sys.argv[3], sys.argv[6] == "1"
lo, hi = int(sys.argv[4]), int(sys.argv[5])

def calls(n):
    m = Machine(cpu=cpu, seed=1)
    m.load(exe, [exe, str(n)], envp=[])
    if replace:
        seen = [100]
        def getpid(t):
            seen[0] += 1
            return seen[0]
        m.replace_handler("getpid", getpid)
    count = [0]
    def prof(frame, event, arg):
        if event == "call":
            count[0] += 1
    sys.setprofile(prof)
    status = m.run()
    sys.setprofile(None)
    assert status == ("exit", 0), status
    return count[0]

calls(100)                # first: it also pays for what runs once per host process
# Two runs that differ only in their number of calls: what runs once per run
# (start-up, lazy imports, caches) cancels out.
print((calls(hi) - calls(lo)) / (hi - lo))
"""


def python_calls_per_call(exe, cpu, lo=1100, hi=2100, replace=False):
    """Python calls (sys.setprofile's) per loop round of exe (a program
    taking its round count, bench/guests/getpid_loop.c), run in a
    Machine: the slope between runs of lo and hi rounds. replace: getpid
    served by a handler put in sysgate's place (Machine.replace_handler)."""
    out = subprocess.run([sys.executable, "-c", _COUNT_CALLS, ROOT, exe, cpu, str(lo), str(hi),
                          "1" if replace else "0"], check=True, capture_output=True, text=True,
                         timeout=600).stdout
    return float(out)


def sysgate_cmd(*opts):
    return [sys.executable, "-m", "sysgate", "run", *opts]


class Result:
    def __init__(self, proc):
        self.stdout, self.stderr = proc.stdout, proc.stderr
        rc = proc.returncode
        # Death by signal N in a shell's form, 128+N: sysgate dies of the
        # guest's signal as the program would (cli.GuestKilled).
        self.status = 128 - rc if rc < 0 else rc
        self.signal = -rc if rc < 0 else None

    def __repr__(self):
        return f"<status {self.status} stdout {self.stdout[:200]!r} stderr {self.stderr[:200]!r}>"


def run_native(exe, args=(), cwd=None, input=None, env=None, timeout=60):
    p = subprocess.run([exe, *args], capture_output=True, cwd=cwd, input=input, env=env,
                       timeout=timeout)
    return Result(p)


def run_sysgate(exe, args=(), opts=(), cwd=None, input=None, env=None, timeout=300):
    e = dict(os.environ if env is None else env)
    e["PYTHONPATH"] = ROOT
    p = subprocess.run(sysgate_cmd(*opts, exe, *args), capture_output=True, cwd=cwd,
                       input=input, env=e, timeout=timeout)
    r = Result(p)
    if b"internal error" in p.stderr or b"Traceback" in p.stderr:
        pytest.fail(f"sysgate crashed: {p.stderr.decode(errors='replace')}")
    return r


def assert_same(exe, args=(), opts=(), cwd=None, input=None, env=None, compare_stderr=True):
    """Run exe natively and under sysgate; stdout, stderr and status must match."""
    native = run_native(exe, args, cwd=cwd, input=input, env=env)
    emu = run_sysgate(exe, args, opts, cwd=cwd, input=input, env=env)
    assert emu.status == native.status, (native, emu)
    assert emu.stdout == native.stdout, (native, emu)
    if compare_stderr:
        assert emu.stderr == native.stderr, (native, emu)
    return native, emu
