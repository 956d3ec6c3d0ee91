"""An exec of a dynamic program from a dynamic program keeps the CPU and
the interpreter's translated code (kernel.keepinterp): the new image runs
as on Linux, sees nothing of the old one (whose code regions stay in
Unicorn out of its sight), and gets the interpreter file's code even when
the old image rewrote its copy."""
import os
import subprocess
import sys

import pytest

from conftest import ROOT, assert_same, build, run_sysgate

DYN = ["gcc64-dyn", "gcc32-dyn"]


@pytest.mark.parametrize("variant", DYN)
@pytest.mark.parametrize("what", ["chain", "patch", "deep"])
def test_exec_as_native(variant, what):
    args = [what] + (["5"] if what == "deep" else [])
    native, _ = assert_same(build("exec_keep.c", variant), args=args)
    assert native.stdout == b"ran, pid the same: 1\n", native.stdout


def test_old_image_out_of_sight():
    # Linux has unmapped the old image: its code is gone, where the new
    # image has put nothing, which 28 bits of ASLR make near certain (an
    # i386 process's 8 bits do not) natively and under sysgate, which
    # places the new image's libc and program afresh.
    r = run_sysgate(build("exec_keep.c", "gcc64-dyn"), ["probe"])
    assert r.status == 0, r
    assert r.stdout == (b"libc's code: read SIGSEGV code 1, mincore -1 Cannot allocate memory\n"
                        b"the program's code: read SIGSEGV code 1, mincore -1 Cannot allocate "
                        b"memory\n"), r.stdout


_KEPT = r"""
import sys
sys.path.insert(0, sys.argv[1])
from sysgate.machine import Machine
m = Machine(cpu="intel", seed=1)
m.load(sys.argv[2], sys.argv[2:], envp=[])
cpu = m.cpu
assert m.run() == ("exit", 0)
from sysgate.cpu.protections import STALE_MAX
assert len(cpu._stale) <= STALE_MAX, len(cpu._stale)
print(m.cpu is cpu, len(cpu._stale) > 0)
"""


@pytest.mark.parametrize("variant", DYN)
@pytest.mark.parametrize("what,kept", [("chain", True), ("patch", False), ("deep 40", True)])
def test_the_cpu_is_kept(variant, what, kept):
    # The exec keeps the CPU (and so the translated code) unless the old
    # image's interpreter code is no longer the file's; a long chain of
    # execs keeps only so many old code regions out of sight.
    exe = build("exec_keep.c", variant)
    out = subprocess.run([sys.executable, "-c", _KEPT, ROOT, exe, *what.split()],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines()[-1].split() == ([str(kept)] * 2), out.stdout


def test_off_switch():
    exe = build("exec_keep.c", "gcc64-dyn")
    env = dict(os.environ, SYSGATE_NO_KEEPINTERP="1", PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", _KEPT, ROOT, exe, "chain"], capture_output=True,
                         text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines()[-1].split() == ["False", "False"], out.stdout
