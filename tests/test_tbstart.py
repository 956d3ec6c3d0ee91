"""cpu/tbstart.py: each translated block's exit check, made inline at the
block's first run. Blocks are rewritten and run on; a stop asked from
another thread still lands at a block's start with the PC on it, through
the rewritten check; a counted run still stops exactly; and with
SYSGATE_NO_INLINE_CHECK=1 nothing is rewritten. (Every guest of the suite
runs with it on: what they print is compared with native runs.)"""
import os
import subprocess
import sys

import pytest

from conftest import ROOT, assert_same, build

SCRIPT = r"""
import ctypes, sys, threading, time
import sysgate.machine
from sysgate.cpu import tbstart
import unicorn
from unicorn import x86_const as X
uc = unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_64)
uc.mem_map(0x1000, 0x1000)
print("in use", tbstart.install(uc))
# mov rcx, 100000000; loop: dec rcx; jnz loop; nop
code = bytes.fromhex("48c7c100e1f505" "48ffc9" "75fb" "90")
uc.mem_write(0x1000, code)
end = 0x1000 + len(code)
uc.emu_start(0x1000, end)
print("ran", uc.reg_read(X.UC_X86_REG_RCX), "patched", bool(tbstart.patched_blocks()))
# An endless loop (jmp $), stopped from another thread: the stop is taken
# through the rewritten check, at the block's start.
uc.mem_write(0x1100, bytes.fromhex("48ffc0" "ebfb"))
uc.reg_write(X.UC_X86_REG_RAX, 0)
stopper = threading.Timer(0.2, uc.emu_stop)
stopper.start()
uc.emu_start(0x1100, 0x2000)
rip, rax = uc.reg_read(X.UC_X86_REG_RIP), uc.reg_read(X.UC_X86_REG_RAX)
print("stopped at", hex(rip), "counted", rax > 1000)
# Again, now that the loop's block is rewritten.
stopper = threading.Timer(0.1, uc.emu_stop)
stopper.start()
uc.emu_start(0x1100, 0x2000)
print("stopped again at", hex(uc.reg_read(X.UC_X86_REG_RIP)))
# A counted run stops after exactly that many instructions (blocks made
# before the count existed are dropped first, as Engine.exit_checks does).
uc.ctl_flush_tb()
uc.reg_write(X.UC_X86_REG_RAX, 0)
uc.emu_start(0x1100, 0x2000, 0, 1001)
print("counted run", uc.reg_read(X.UC_X86_REG_RAX), hex(uc.reg_read(X.UC_X86_REG_RIP)))
print("patched blocks", tbstart.patched_blocks() > 0 if tbstart.patched_blocks() is not None else None)
"""


def _run(env=None):
    env = dict(os.environ, PYTHONPATH=ROOT, **(env or {}))
    p = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                       env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout.splitlines()


def test_blocks_are_rewritten_and_stops_stay_exact():
    out = _run()
    if out[0] != "in use True":
        pytest.skip("the inline check is not in use with this Unicorn build")
    assert out[1:] == [
        "ran 0 patched True",
        "stopped at 0x1100 counted True",
        "stopped again at 0x1100",
        # 1001 instructions of inc/jmp: 501 incs, the PC on the jmp
        "counted run 501 0x1103",
        "patched blocks True",
    ], out


def test_turned_off_nothing_is_rewritten():
    out = _run({"SYSGATE_NO_INLINE_CHECK": "1"})
    assert out == ["in use False", "ran 0 patched False", "stopped at 0x1100 counted True",
                   "stopped again at 0x1100", "counted run 501 0x1103", "patched blocks None"], out


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_guests_agree_with_and_without(variant, tmp_path):
    """A guest whose timer signals stop user code every millisecond runs
    as natively either way (the read-modify-write counts, the handler)."""
    exe = build("timer_rmw.c", variant)
    assert_same(exe, ["2000000"])
    assert_same(exe, ["2000000"], env=dict(os.environ, SYSGATE_NO_INLINE_CHECK="1"))
