#!/usr/bin/env python3
"""Garbage system calls under sysgate, confined to a scratch root: each run
must end without an internal error or a Python traceback (a guest killed by
a signal, or stopped by the time limit while looping in its own SIGSEGV
handler, is fine; both are what Linux would do).

Usage: python3 bench/fuzz.py [--seeds N] [--timeout S]
"""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=20)
    opts = ap.parse_args()
    src = os.path.join(HERE, "guests", "fuzz_syscalls.c")
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "root")
        os.mkdir(root)
        for flags, name in (([], "fuzz64"), (["-m32"], "fuzz32")):
            exe = os.path.join(tmp, name)
            subprocess.run(["gcc", *flags, "-static", "-O1", "-o", exe, src], check=True)
            for seed in range(opts.seeds):
                env = dict(os.environ, PYTHONPATH=ROOT)
                try:
                    p = subprocess.run([sys.executable, "-m", "sysgate", "run", "--root", root,
                                        exe, str(seed)], stdin=subprocess.DEVNULL,
                                       capture_output=True, env=env, timeout=opts.timeout)
                    err, status = p.stderr, p.returncode
                except subprocess.TimeoutExpired as e:
                    err, status = e.stderr or b"", "timeout"
                if b"internal error" in err or b"Traceback" in err:
                    bad += 1
                    print(f"{name} seed {seed}: {err.decode(errors='replace').strip()[-300:]}")
                else:
                    print(f"{name} seed {seed}: ok ({status})")
    print(f"{bad} runs with an internal error")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
