#!/usr/bin/env python3
"""The kernel's x86 and vDSO selftests (tests/selftests/) natively, under
sysgate (--cpu intel and --cpu amd) and under qemu-user, as a table.

    python3 bench/selftests.py [--timeout S] [--jobs N] [--only NAME,...] [--why]

--why prints, under the table, the line each failing run failed on."""
import argparse
import concurrent.futures
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
import selftests_kit as kit  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", default="")
    ap.add_argument("--runners", default=",".join(kit.RUNNERS))
    ap.add_argument("--why", action="store_true")
    a = ap.parse_args()
    names = list(kit.targets())
    if a.only:
        want = a.only.split(",")
        names = [n for n in names if n in want or n.rsplit("_", 1)[0] in want]
    runners = a.runners.split(",")
    t0 = time.time()
    built = kit.build_all(names)
    jobs = [(n, r) for n in names for r in runners if not isinstance(built[n], tuple)]

    def one(job):
        n, r = job
        return job, kit.run(r, built[n], kit.targets()[n][0], timeout=a.timeout)

    res = {}
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        for job, o in ex.map(one, jobs):
            res[job] = o
    w = max(len(n) for n in names)
    labels = {"native": "native", "intel": "sysgate intel", "amd": "sysgate amd", "qemu": "qemu-user"}
    print(f"{'test':<{w}}  " + "  ".join(f"{labels[r]:<13}" for r in runners))
    count = dict.fromkeys(runners, 0)
    for n in names:
        if isinstance(built[n], tuple):
            print(f"{n:<{w}}  {built[n][1]}")
            continue
        cells = []
        for r in runners:
            o = res.get((n, r))
            cells.append("-" if o is None else o.summary())
            count[r] += bool(o and o.passed)
        print(f"{n:<{w}}  " + "  ".join(f"{c:<13}" for c in cells))
    print(f"{'passed':<{w}}  " + "  ".join(f"{str(count[r]) + '/' + str(len(names)):<13}"
                                          for r in runners))
    print(f"({time.time() - t0:.0f} s)")
    if a.why:
        for (n, r), o in sorted(res.items()):
            if o is not None and not o.passed:
                print(f"{n} [{labels[r]}]: {o.why()}")


if __name__ == "__main__":
    main()
