"""A program starts with every general register but RSP zero and the FPU
in its init state, whether sysgate loaded it or a guest's execve did from
a process full of junk (cpu/engine.py boot)."""
from conftest import assert_same, build


def test_start_regs_first_program():
    native, _ = assert_same(build("start_regs.c", "gcc64", ["-nostdlib"]))
    assert native.status == 0


def test_start_regs_after_execve_from_junk():
    native, _ = assert_same(build("start_regs.c", "gcc64", ["-nostdlib"]), ["dirty"])
    assert native.status == 0
