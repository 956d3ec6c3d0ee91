"""The gate's register traffic in place (cpu.regbatch.RegFile): the struct
it reads and writes is the one Unicorn's API reads and writes, and the
SYSCALL saves hook leaves RCX and R11 as the instruction does. Each guest
also runs with the two ways the gate has without them (RegFile without
the hook: RFLAGS through a C call; no RegFile: batched C calls), against
the native run."""
import os
import random
import subprocess
import sys

import pytest

from conftest import ROOT, Result, assert_same, build, run_native

sys.path.insert(0, ROOT)

from unicorn import x86_const as X  # noqa: E402

from sysgate.cpu.engine import Engine  # noqa: E402
from sysgate.cpu.regbatch import REG, RegFile  # noqa: E402
from sysgate.entry.ptregs import ENTRY_NAMES  # noqa: E402

GPRS = "rax rcx rdx rbx rsp rbp rsi rdi r8 r9 r10 r11 r12 r13 r14 r15".split()
# TF IF DF... as Unicorn keeps them in env->eflags; the arithmetic flags and DF apart
ARITH = 0x8D5 | 0x400


def _engine():
    return Engine(lambda leaf, sub, compat: (0, 0, 0, 0))


def test_found_on_this_unicorn():
    assert RegFile.find(_engine().uc) is not None


def test_reads_and_writes_are_the_apis():
    e = _engine()
    uc = e.uc
    rf = RegFile.find(uc)
    rng = random.Random(13)
    names = GPRS + ["rip", "sysflags", "cs", "ss"]
    read = rf.reader(names)
    for _ in range(20):
        vals = {n: rng.getrandbits(64) for n in GPRS}
        vals["rip"] = rng.getrandbits(47)
        for n, v in vals.items():
            uc.reg_write(REG[n], v)
        flags = rng.choice([0x2, 0x202, 0x302, 0x10202, 0x8d7, 0x246])
        uc.reg_write(X.UC_X86_REG_RFLAGS, flags)
        got = dict(zip(names, read()))
        for n, v in vals.items():
            assert got[n] == v, n
        assert got["cs"] & 0xFFFF == uc.reg_read(X.UC_X86_REG_CS)
        assert got["ss"] & 0xFFFF == uc.reg_read(X.UC_X86_REG_SS)
        # sysflags: what the entry decides on is there, nothing else is added
        assert got["sysflags"] & ~ARITH == flags & ~ARITH
        assert got["sysflags"] | flags == flags | 0x2
        new = [rng.getrandbits(64) for _ in GPRS] + [rng.getrandbits(47)]
        rf.writer(GPRS + ["rip"])(new)
        assert [uc.reg_read(REG[n]) for n in GPRS + ["rip"]] == new
        r11 = rf.rflags_into("r11")()
        assert r11 == uc.reg_read(X.UC_X86_REG_RFLAGS) == uc.reg_read(X.UC_X86_REG_R11)


def test_entry_names_in_the_struct_order():
    rf = RegFile.find(_engine().uc)
    rf.reader(ENTRY_NAMES)
    with pytest.raises(ValueError):
        rf.reader(["rdi", "rax"])


def test_saves_hook_once_per_engine():
    e = _engine()
    rf = RegFile.find(e.uc)
    assert rf.syscall_saves(e.uc) and rf.syscall_saves(e.uc)
    assert RegFile.find(e.uc).syscall_saves(e.uc)


# --- guests, each way ---------------------------------------------------------------

_DRIVER = """
import runpy, sys
import sysgate.cpu.regbatch as rb
if sys.argv[1] == "no-regfile":
    rb.RegFile.find = classmethod(lambda cls, uc: None)
elif sys.argv[1] == "no-saves-hook":
    rb.RegFile.syscall_saves = lambda self, uc: False
sys.argv = ["sysgate", "run"] + sys.argv[2:]
runpy.run_module("sysgate", run_name="__main__", alter_sys=True)
"""
WAYS = ["in-place", "no-saves-hook", "no-regfile"]


def _run(way, exe, args=(), opts=()):
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.run([sys.executable, "-c", _DRIVER, way, *opts, exe, *args],
                       capture_output=True, env=env, timeout=300)
    assert b"Traceback" not in p.stderr and b"internal error" not in p.stderr, p.stderr
    return Result(p)


@pytest.mark.parametrize("variant", ["gcc64", "musl64"])
def test_syscall_after_each_kind_of_flags(variant):
    native, _ = assert_same(build("gate_lazy_flags.c", variant))
    assert native.status == 0
    assert b"!=" not in native.stdout and b"wrong" not in native.stdout
    assert b"cmp q        r11 flags 0x0095," in native.stdout


@pytest.mark.parametrize("way", WAYS)
def test_each_way_64(way):
    for exe in (build("gate_lazy_flags.c", "gcc64"), build("gate_regs64.c", "gcc64")):
        native, emu = run_native(exe), _run(way, exe)
        assert (emu.status, emu.stdout) == (native.status, native.stdout), (native, emu)


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("cpu, gate", [("intel", "int80"), ("intel", "vsys-sysenter"),
                                       ("amd", "vsys-syscall"), ("intel", "vsys-int80")])
def test_each_way_32(way, cpu, gate):
    exe = build("gate_regs32.c", "gcc32")
    native, emu = run_native(exe, ["int80"]), _run(way, exe, [gate], ["--cpu", cpu])
    assert (emu.status, emu.stdout) == (native.status, native.stdout), (native, emu)
