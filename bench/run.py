#!/usr/bin/env python3
"""sysgate's benchmarks, each reported as a ratio to the bare Unicorn floor
measured in the same run (these machines are shared and noisy: absolute
times drift, ratios from one run are what to compare).

  getpid round trip, per gate: a static guest calls getpid N times in a tight
  loop; the per-call cost is the slope between two loop counts, so process
  start-up cancels. Two floors, the same instructions on a bare Unicorn
  whose hook only writes the result register: through the standard unicorn
  binding (hook_add + reg_write), and as a ctypes callback registered with
  uc_hook_add directly, writing it with one ctypes call of uc_reg_write
  (issue #13's floor: the ratio column is to this one).

  compute loop: four instructions of pure user-mode work, under sysgate and
  on bare Unicorn; the ratio shows no per-instruction cost was added.

Times are CPU seconds of the benchmark process (time.process_time), which
other load on a shared machine disturbs far less than wall time.

Usage: python3 bench/run.py [--quick] [--json] [--tree DIR]

--tree DIR measures the sysgate of another checkout (its sysgate package
imported instead of this one's), with this script and these guests, for
interleaved before/after runs.
"""
import argparse
import ctypes
import gc
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if "--tree" in sys.argv[:-1]:
    sys.path.insert(0, os.path.abspath(sys.argv[sys.argv.index("--tree") + 1]))
else:
    sys.path.insert(0, os.path.dirname(HERE))

from unicorn import Uc, UC_ARCH_X86, UC_MODE_32, UC_MODE_64  # noqa: E402
from unicorn import unicorn_const as UC  # noqa: E402
from unicorn import x86_const as X  # noqa: E402
from unicorn.unicorn_py3.unicorn import uclib as _uclib  # noqa: E402

BUILD = os.path.join(os.path.dirname(HERE), "build", "bench")
# CPU seconds of this process (every thread), not wall time: on a shared
# machine other work stretches wall time but hardly the CPU time it takes.
_clock = time.process_time

GUESTS = {
    "syscall64": ("getpid_loop.c", ["gcc", "-static", "-O1"], "intel"),
    # getppid: the same crossing through the gate's Python (getpid is one
    # of the calls answered in machine code: cpu.regbatch.ConstantCalls)
    "syscall64-py": ("getpid_loop.c", ["gcc", "-static", "-O1", "-DNR=110"], "intel"),
    "int80-64": ("getpid_loop.c", ["gcc", "-static", "-O1", "-DINT80"], "intel"),
    "int80-32": ("getpid_loop.c", ["gcc", "-m32", "-static", "-O1"], "intel"),
    "vsyscall32": ("getpid_loop.c", ["gcc", "-m32", "-static", "-O1", "-DVSYSCALL"], "intel"),
    "vsyscall32-amd": ("getpid_loop.c", ["gcc", "-m32", "-static", "-O1", "-DVSYSCALL"], "amd"),
    # getppid through __kernel_vsyscall: the i386 crossings through the
    # gate's Python (cpu.regbatch.ConstantCalls32 answers their getpid)
    "vsyscall32-py": ("getpid_loop.c", ["gcc", "-m32", "-static", "-O1", "-DVSYSCALL",
                                        "-DNR32=64"], "intel"),
    "vsyscall32-amd-py": ("getpid_loop.c", ["gcc", "-m32", "-static", "-O1", "-DVSYSCALL",
                                            "-DNR32=64"], "amd"),
    "compute64": ("compute_loop.c", ["gcc", "-static", "-O1"], "intel"),
    "clock-vdso64": ("clock_loop.c", ["gcc", "-static", "-O1"], "intel"),
    "clock-syscall64": ("clock_loop.c", ["gcc", "-static", "-O1", "-DSYSCALL"], "intel"),
    "clock-vdso32": ("clock_loop.c", ["gcc", "-m32", "-static", "-O1"], "intel"),
    "clock-syscall32": ("clock_loop.c", ["gcc", "-m32", "-static", "-O1", "-DSYSCALL"], "intel"),
}

# Floor loops: the same instructions as the guests' loops.
FLOOR_CODE = {
    "syscall64": (UC_MODE_64, bytes.fromhex("b827000000" "0f05" "48ffcf" "75f4")),
    "int80-32": (UC_MODE_32, bytes.fromhex("b814000000" "cd80" "4f" "75f6")),
    "compute64": (UC_MODE_64, bytes.fromhex("480fafc2" "4801f8" "48ffcf" "75f4")),
}


def build(name):
    src, cmd, _ = GUESTS[name]
    os.makedirs(BUILD, exist_ok=True)
    out = os.path.join(BUILD, "-".join(cmd[1:]).replace("-", "_") + "_" + src[:-2])
    srcp = os.path.join(HERE, "guests", src)
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(srcp):
        subprocess.run(cmd + ["-o", out, srcp], check=True)
    return out


def time_sysgate(name, n):
    from sysgate.machine import Machine
    exe = build(name)
    m = Machine(cpu=GUESTS[name][2], seed=1)
    m.load(exe, [exe, str(n)], envp=[])
    gc.collect()        # the last run's garbage is not this run's work
    t0 = _clock()
    status = m.run()
    dt = _clock() - t0
    assert status[0] == "exit", status
    return dt


_HOOK_INSN_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
_HOOK_INTR_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p)
_uc_reg_write = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                                 ctypes.c_void_p)(("uc_reg_write", _uclib))


def time_floor(name, n, raw=False):
    """raw: the hook is a ctypes callback added with uc_hook_add itself,
    writing the result register with one ctypes call of uc_reg_write."""
    mode, loop = FLOOR_CODE[name]
    uc = Uc(UC_ARCH_X86, mode)
    base = 0x400000
    uc.mem_map(base, 0x1000)
    uc.mem_write(base, loop)
    if raw:
        reg = X.UC_X86_REG_RAX if mode == UC_MODE_64 else X.UC_X86_REG_EAX
        val = ctypes.c_uint64(1234)
        where = ctypes.addressof(val)
        if name == "syscall64":
            def hook(uch, _):
                _uc_reg_write(uch, reg, where)
            cb, extra = _HOOK_INSN_CB(hook), (ctypes.c_int(X.UC_X86_INS_SYSCALL),)
            htype = UC.UC_HOOK_INSN
        else:
            def hook(uch, _intno, _):
                _uc_reg_write(uch, reg, where)
            cb, extra, htype = _HOOK_INTR_CB(hook), (), UC.UC_HOOK_INTR
        handle = ctypes.c_size_t()
        err = _uclib.uc_hook_add(uc._uch, ctypes.byref(handle), ctypes.c_int(htype),
                                 ctypes.cast(cb, ctypes.c_void_p), None, ctypes.c_uint64(1),
                                 ctypes.c_uint64(0), *extra)
        assert err == 0, err
    elif name == "syscall64":
        def hook(uc, _):
            uc.reg_write(X.UC_X86_REG_RAX, 1234)
        uc.hook_add(UC.UC_HOOK_INSN, hook, None, 1, 0, X.UC_X86_INS_SYSCALL)
    elif name == "int80-32":
        def hook(uc, intno, _):
            uc.reg_write(X.UC_X86_REG_EAX, 1234)
        uc.hook_add(UC.UC_HOOK_INTR, hook)
    if mode == UC_MODE_64:
        uc.reg_write_batch([(X.UC_X86_REG_RDI, n), (X.UC_X86_REG_RDX, 6364136223846793005)])
    else:
        uc.reg_write(X.UC_X86_REG_EDI, n)
    gc.collect()
    t0 = _clock()
    uc.emu_start(base, base + len(loop))
    return _clock() - t0


def time_floor_raw(name, n):
    return time_floor(name, n, raw=True)


def slope(fn, name, n1, n2, reps):
    """Seconds per iteration: min over reps of the difference of two runs
    (after one run that is not counted: imports, first translations)."""
    fn(name, n1)
    best = float("inf")
    for _ in range(reps):
        a = fn(name, n1)
        b = fn(name, n2)
        best = min(best, (b - a) / (n2 - n1))
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer iterations")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--tree", help="the checkout whose sysgate is measured (see above)")
    opts = ap.parse_args()
    scale = 1 if opts.quick else 4
    reps = 3
    results = {}
    gates = [("syscall64", "syscall64"), ("syscall64-py", "syscall64"),
             ("int80-32", "int80-32"),
             ("int80-64", "syscall64"), ("vsyscall32", "int80-32"),
             ("vsyscall32-amd", "int80-32"), ("vsyscall32-py", "int80-32"),
             ("vsyscall32-amd-py", "int80-32")]
    for name, floor in gates:
        # 20000 calls or more between the two runs: tens of milliseconds,
        # well above the spread of a process's start (a few milliseconds).
        n1, n2 = 1000, 1000 + 20000 * scale
        s = slope(time_sysgate, name, n1, n2, reps)
        f = slope(time_floor, floor, n1, n2, reps)
        fr = slope(time_floor_raw, floor, n1, n2, reps)
        results[name] = {"sysgate_us": s * 1e6, "floor_us": f * 1e6, "floor_ctypes_us": fr * 1e6,
                         "ratio": s / fr}
    n1, n2 = 2_000_000 * scale, 6_000_000 * scale
    s = slope(time_sysgate, "compute64", n1, n2, reps)
    f = slope(time_floor, "compute64", n1, n2, reps)
    results["compute64"] = {"sysgate_ns": s * 1e9, "floor_ns": f * 1e9, "ratio": s / f}
    for bits in ("64", "32"):
        n1, n2 = 1000, 1000 + 20000 * scale
        v = slope(time_sysgate, "clock-vdso" + bits, 10 * n1, 10 * n2, reps)
        sc = slope(time_sysgate, "clock-syscall" + bits, n1, n2, reps)
        results["clock-vdso" + bits] = {"sysgate_us": v * 1e6, "floor_us": sc * 1e6,
                                         "ratio": sc / v if v > 0 else float("inf")}
    if opts.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'benchmark':<15} {'sysgate':>10} {'floor':>10} {'floor-ctypes':>13} {'ratio':>7}")
    for name, r in results.items():
        unit = "us" if "sysgate_us" in r else "ns"
        sv, fv = r[f"sysgate_{unit}"], r[f"floor_{unit}"]
        raw = f"{r['floor_ctypes_us']:>10.2f} {unit}" if "floor_ctypes_us" in r else f"{'':>13}"
        print(f"{name:<15} {sv:>7.2f} {unit} {fv:>7.2f} {unit} {raw} {r['ratio']:>7.2f}")
    # Issue #13's i386 goal: each i386 gate against x86-64 SYSCALL, the
    # machine-code answers (getpid) against each other, and the crossings
    # through the gate's Python (getppid) against each other.
    for base, rows in (("syscall64", ("vsyscall32", "vsyscall32-amd", "int80-32")),
                       ("syscall64-py", ("vsyscall32-py", "vsyscall32-amd-py", "int80-32"))):
        if base in results:
            s64 = results[base]["sysgate_us"]
            print(f"i386 gate / x86-64 SYSCALL ({base}): " + ", ".join(
                f"{n} {results[n]['sysgate_us'] / s64:.2f}" for n in rows if n in results))
    print("getpid rows: one round trip per iteration; floor = bare Unicorn hook writing the "
          "result register (standard binding), floor-ctypes = the same as a ctypes callback "
          "added with uc_hook_add; ratio = sysgate / floor-ctypes.\nsyscall64-py: getppid, "
          "through the gate's Python (getpid is answered in machine code on x86-64 SYSCALL and on "
          "__kernel_vsyscall's SYSENTER or SYSCALL; INT 0x80 always takes Python); the -py "
          "vsyscall32 rows likewise.\n"
          "int80-64 and vsyscall32 "
          "(glibc's call *%gs:0x10: SYSENTER on intel, SYSCALL on amd) are shown against the "
          "syscall64 and int80-32 floors.\ncompute64: ratio to the standard floor. clock-vdso "
          "rows: clock_gettime through sysgate's vDSO; the 'floor' column is the same call as a "
          "system call under sysgate, and the ratio is how many times cheaper the vDSO is.")


if __name__ == "__main__":
    main()
