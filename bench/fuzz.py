#!/usr/bin/env python3
"""Garbage system calls under sysgate, confined to a scratch root: each run
must end without an internal error or a Python traceback (a guest killed by
a signal, or stopped by the time limit while looping in its own SIGSEGV
handler, is fine; both are what Linux would do).

--elf N instead runs N malformed ELF files (mutations of real programs, both
ABIs, static and dynamic: tests/elf_mutate.py) natively and under sysgate,
through a guest's execve and as `sysgate run`'s PROGRAM, and reports
internal errors, hangs, differences from the native outcome and peak RSS.

--sigframes N runs N seeds of garbage signal frames (tests/guests/
sigframe_fuzz.c: random registers and segment selectors returned through
sigreturn, each trial in a forked child) natively and under sysgate, both
ABIs, and compares what every trial saw.

Usage: python3 bench/fuzz.py [--seeds N] [--timeout S]
       python3 bench/fuzz.py --elf N [--seed S] [--program-every K]
       python3 bench/fuzz.py --sigframes N [--trials T]
"""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def elf_fuzz(count, seed, program_every, timeout):
    import resource
    import time
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import elf_mutate as M
    src = os.path.join(ROOT, "tests", "guests")
    flags = {"gcc64": ["gcc", "-static"], "gcc32": ["gcc", "-m32", "-static"],
             "musl64": ["musl-gcc", "-static"], "gcc64-dyn": ["gcc"], "gcc32-dyn": ["gcc", "-m32"]}
    env = dict(os.environ, PYTHONPATH=ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        bases = {}
        for name, cc in flags.items():
            bases[name] = os.path.join(tmp, "target-" + name)
            subprocess.run(cc + ["-O1", "-o", bases[name], os.path.join(src, "elf_target.c")],
                           check=True)
        guest = os.path.join(tmp, "exec")
        subprocess.run(["gcc", "-static", "-O1", "-o", guest, os.path.join(src, "elf_exec.c")],
                       check=True)
        special = os.path.join(tmp, "special")
        os.mkdir(special)
        mutants = M.generate(bases, count, seed, tmp, M.special_paths(special))
        desc = dict(mutants)
        files = [f for f, _ in mutants]
        t0 = time.monotonic()
        native = M.parse_lines(subprocess.run([guest, "3000", *files], capture_output=True,
                                              text=True).stdout)
        t1 = time.monotonic()
        runs, bad, results = 0, [], {}
        for i in range(0, len(files), 200):
            chunk = files[i:i + 200]
            p = subprocess.run([sys.executable, "-m", "sysgate", "run", guest,
                                str(int(timeout * 1000)), *chunk],
                               capture_output=True, text=True, env=env)
            if "internal error" in p.stderr or "Traceback" in p.stderr:
                bad.append(f"execve chunk {i}: {p.stderr.strip()[-300:]}")
            results.update({("execve", f): o for f, o in M.parse_lines(p.stdout).items()})
            runs += len(chunk)
        t2 = time.monotonic()
        prog = files[::program_every]
        out = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "elf_mutate.py"),
                              str(timeout), *prog], capture_output=True, text=True, env=env).stdout
        results.update({("program", f): o for f, o in M.parse_lines(out).items()})
        runs += len(prog)
        t3 = time.monotonic()
        internal = hangs = differ = 0
        for (how, f), o in sorted(results.items()):
            n = native.get(f)
            if o.startswith("internal"):
                internal += 1
            elif o == "timeout" and n != "timeout":
                hangs += 1
            elif n != "timeout" and o != n:
                differ += 1
            else:
                continue
            bad.append(f"{how} {os.path.basename(f)} [{desc[f]}]: native {n}, sysgate {o}")
        missing = runs - len(results)
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    for line in bad:
        print(line)
    print(f"{runs} runs ({len(files)} through execve in {t2 - t1:.0f} s, {len(prog)} as PROGRAM "
          f"in {t3 - t2:.0f} s; natively {t1 - t0:.1f} s): {internal} internal errors, "
          f"{hangs} hangs, {differ} outcomes unlike Linux's, {missing} missing; "
          f"peak RSS {rss // 1024} MiB")
    return 1 if internal or hangs or missing else 0


def sigframe_fuzz(seeds, trials, timeout):
    import resource
    src = os.path.join(ROOT, "tests", "guests", "sigframe_fuzz.c")
    env = dict(os.environ, PYTHONPATH=ROOT)
    internal = hangs = differ = runs = 0
    with tempfile.TemporaryDirectory() as tmp:
        for flags, name in (([], "gcc64"), (["-m32"], "gcc32")):
            exe = os.path.join(tmp, name)
            subprocess.run(["gcc", *flags, "-static", "-O1", "-o", exe, src], check=True)
            for seed in range(seeds):
                runs += 1
                native = subprocess.run([exe, str(seed), str(trials)], capture_output=True,
                                        timeout=timeout)
                try:
                    p = subprocess.run([sys.executable, "-m", "sysgate", "run", exe, str(seed),
                                        str(trials)], capture_output=True, env=env,
                                       timeout=timeout)
                except subprocess.TimeoutExpired:
                    hangs += 1
                    print(f"{name} seed {seed}: hang")
                    continue
                if b"internal error" in p.stderr or b"Traceback" in p.stderr:
                    internal += 1
                    print(f"{name} seed {seed}: {p.stderr.decode(errors='replace')[-300:]}")
                elif (p.stdout, p.returncode) != (native.stdout, native.returncode):
                    differ += 1
                    print(f"{name} seed {seed}: unlike Linux")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"{runs} runs of {trials} frames: {internal} internal errors, {hangs} hangs, "
          f"{differ} unlike Linux; peak RSS {rss // 1024} MiB")
    return 1 if internal or hangs or differ else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--elf", type=int, metavar="N", help="run N malformed ELF files instead")
    ap.add_argument("--seed", type=int, default=1, help="the ELF mutations' seed")
    ap.add_argument("--program-every", type=int, default=4, metavar="K",
                    help="with --elf, every K-th file also runs as PROGRAM (default 4)")
    ap.add_argument("--sigframes", type=int, metavar="N",
                    help="run N seeds of garbage signal frames instead")
    ap.add_argument("--trials", type=int, default=300, help="frames per --sigframes seed")
    opts = ap.parse_args()
    if opts.sigframes:
        return sigframe_fuzz(opts.sigframes, opts.trials, opts.timeout * 10)
    if opts.elf:
        return elf_fuzz(opts.elf, opts.seed, opts.program_every, opts.timeout)
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
