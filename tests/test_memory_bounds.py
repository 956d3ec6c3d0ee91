"""Host memory follows what the guest touches, not what it maps (issue
#11): a guest that maps 1 GiB and never touches it, then mprotects, unmaps,
mremaps, madvises, moves the break, maps a sparse file or writes the buffer
somewhere, leaves sysgate's peak RSS within 64 MiB of a plain run; what a
process may commit is bounded by --memory-limit; and the refusals Linux
gives around memory (mmap_min_addr, lengths that wrap, mremap failures that
keep the original, the vvar page) are the native run's."""
import json
import os
import subprocess
import sys

import pytest

from conftest import ALL, ROOT, assert_same, build, run_native, run_sysgate, sysgate_cmd

SLACK_KIB = 64 << 10

# Runs sysgate and reports its peak RSS (VmHWM, as getrusage sees the child).
_LAUNCHER = r"""
import json, resource, subprocess, sys
p = subprocess.run(sys.argv[1:], capture_output=True, timeout=240)
print(json.dumps({"status": p.returncode, "stdout": p.stdout.decode(errors="replace"),
                  "stderr": p.stderr.decode(errors="replace"),
                  "maxrss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def measured(exe, args=(), opts=(), cwd=None):
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.run([sys.executable, "-c", _LAUNCHER, *sysgate_cmd(*opts), exe, *args],
                       capture_output=True, env=env, cwd=cwd, timeout=300)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert "internal error" not in r["stderr"] and "Traceback" not in r["stderr"], r["stderr"]
    return r


_baseline = {}


def baseline(variant, exe):
    if variant not in _baseline:
        _baseline[variant] = measured(exe, ["plain"])["maxrss"]
    return _baseline[variant]


CASES = ["map", "mprotect", "munmap", "mremap", "madvise", "brk", "sparse", "writev",
         "readv", "reserve", "mincore", "readonly", "sendto"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("variant", ALL)
def test_untouched_gigabyte_costs_nothing(variant, case, tmp_path):
    exe = build("mem_bounds.c", variant)
    # The break goes to 8 GiB (1 GiB on i386): above the default limit.
    opts = ["--memory-limit", "16G"] if case == "brk" else []
    native = run_native(exe, [case], cwd=tmp_path)
    emu = measured(exe, [case], opts, cwd=tmp_path)
    assert (emu["status"], emu["stdout"]) == (native.status, native.stdout.decode()), (native, emu)
    grown = emu["maxrss"] - baseline(variant, exe)
    assert grown < SLACK_KIB, f"{case}: peak RSS {grown >> 10} MiB above a plain run"


def test_eight_gigabyte_bss_costs_nothing(tmp_path):
    exe = build("mem_bigbss.c", "gcc64", ["-nostdlib", "-mcmodel=medium", "-no-pie"])
    assert run_native(exe).stdout == b"bss ok\n"
    emu = measured(exe, opts=["--memory-limit", "9G"])
    assert (emu["status"], emu["stdout"]) == (0, "bss ok\n"), emu
    plain = baseline("gcc64", build("mem_bounds.c", "gcc64"))
    assert emu["maxrss"] - plain < SLACK_KIB


def test_loader_refuses_an_image_above_the_limit():
    """An image the limit cannot hold is not started: the exec fails past
    its point of no return, SIGSEGV, as Linux's under `ulimit -v`."""
    exe = build("mem_bigbss.c", "gcc64", ["-nostdlib", "-mcmodel=medium", "-no-pie"])
    r = run_sysgate(exe)                       # the default limit is 4 GiB
    assert r.status == 128 + 11 and r.stderr == b"", r
    native = subprocess.run(["bash", "-c", f"ulimit -v 4194304; exec {exe}"],
                            capture_output=True)
    assert native.returncode == -11


LIMITED = """\
mmap(0, 512 * M, PROT_READ | PROT_WRITE, anon, -1, 0): ENOMEM
mmap(0, 300 * M, PROT_READ | PROT_WRITE, anon | MAP_NORESERVE, -1, 0): ENOMEM
mmap(0, 300 * M, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0): ENOMEM
mmap(0, 512 * M, PROT_READ, anon, -1, 0): ok
reserve 1 GiB PROT_NONE: ok
mprotect(r, 300 * M, PROT_READ | PROT_WRITE): ENOMEM
mprotect(r, 100 * M, PROT_READ | PROT_WRITE): ok
brk + 300M refused: ok
brk + 1M: ok
mremap 100M -> 300M: ENOMEM
original intact: 1 2
mremap 100M -> 150M over its own reservation: ENOMEM
munmap(r, 1024 * M): ok
mmap(0, 200 * M, PROT_READ | PROT_WRITE, anon, -1, 0): ok
"""


@pytest.mark.parametrize("variant", ALL)
def test_memory_limit_gives_enomem(variant):
    big = build("mem_bigbss.c", "gcc64", ["-nostdlib", "-mcmodel=medium", "-no-pie"])
    r = run_sysgate(build("mem_limit.c", variant), [big], ["--memory-limit", "256M"])
    # The execve of an image past the limit dies of SIGSEGV past its point
    # of no return, as Linux's under RLIMIT_AS (`ulimit -v`).
    assert (r.status, r.stdout.decode()) == (128 + 11, LIMITED), r


@pytest.mark.parametrize("variant", ALL)
def test_refusals_are_linux_answers(variant, tmp_path):
    assert_same(build("mem_errno.c", variant), cwd=tmp_path)


def test_memory_limit_option_is_checked():
    r = subprocess.run(sysgate_cmd("--memory-limit", "lots", "/bin/true"), capture_output=True,
                       env=dict(os.environ, PYTHONPATH=ROOT))
    assert r.returncode == 2 and b"not a size" in r.stderr


@pytest.mark.parametrize("variant", ALL)
def test_code_written_then_run(variant):
    """Stores, read(2), MADV_DONTNEED, mprotect and mremap on code: the
    CPU runs what is there now, not what it translated before."""
    assert_same(build("mem_smc.c", variant))


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("variant", ALL)
def test_random_memory_calls_as_linux(variant, seed, tmp_path):
    """mmap/munmap/mprotect/madvise/mremap/ftruncate at random inside one
    region, with loads and stores that may fault: every result, signal and
    the region's maps as natively."""
    assert_same(build("mem_fuzz.c", variant), [str(seed), "300"], cwd=tmp_path)
