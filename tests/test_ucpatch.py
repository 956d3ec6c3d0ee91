"""cpu/ucpatch.py: Unicorn patched in memory. Each translated block's exit
check is made inline at the block's first run: blocks are rewritten and
run on; a stop asked from another thread still lands at a block's start
with the PC on it, through the rewritten check; a counted run still stops
exactly. The translator's TLB scan looks only where a page's entries can
be: code rewritten by stores (tests/test_memory_bounds.py's mem_smc, run
here both ways) is still seen. With SYSGATE_NO_UCPATCH=1 nothing is
patched. (Every guest of the suite runs with the patches: what they print
is compared with native runs.)"""
import os
import subprocess
import sys

import pytest

from conftest import ROOT, assert_same, build

SCRIPT = r"""
import ctypes, sys, threading, time
import sysgate.machine
from sysgate.cpu import ucpatch
import unicorn
from unicorn import x86_const as X
uc = unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_64)
uc.mem_map(0x1000, 0x1000)
print("in use", ucpatch.install(uc), "scan" if ucpatch._state.get("scan") else "")
# mov rcx, 100000000; loop: dec rcx; jnz loop; nop
code = bytes.fromhex("48c7c100e1f505" "48ffc9" "75fb" "90")
uc.mem_write(0x1000, code)
end = 0x1000 + len(code)
uc.emu_start(0x1000, end)
print("ran", uc.reg_read(X.UC_X86_REG_RCX), "patched", bool(ucpatch.patched_blocks()))
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
print("patched blocks", ucpatch.patched_blocks() > 0 if ucpatch.patched_blocks() is not None else None)
"""


def _run(env=None):
    env = dict(os.environ, PYTHONPATH=ROOT, **(env or {}))
    p = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                       env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout.splitlines()


def test_blocks_are_rewritten_and_stops_stay_exact():
    out = _run()
    if not out[0].startswith("in use True"):
        pytest.skip("the inline check is not in use with this Unicorn build")
    assert out[0] == "in use True scan", out
    assert out[1:] == [
        "ran 0 patched True",
        "stopped at 0x1100 counted True",
        "stopped again at 0x1100",
        # 1001 instructions of inc/jmp: 501 incs, the PC on the jmp
        "counted run 501 0x1103",
        "patched blocks True",
    ], out


def test_turned_off_nothing_is_rewritten():
    out = _run({"SYSGATE_NO_UCPATCH": "1"})
    assert out == ["in use False ", "ran 0 patched False", "stopped at 0x1100 counted True",
                   "stopped again at 0x1100", "counted run 501 0x1103", "patched blocks None"], out


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
@pytest.mark.parametrize("guest,args", [("timer_rmw.c", ["2000000"]), ("mem_smc.c", [])])
def test_guests_agree_with_and_without(variant, guest, args):
    """A guest whose timer signals stop user code every millisecond, and
    one that rewrites its code in every way, run as natively either way."""
    exe = build(guest, variant)
    assert_same(exe, args)
    assert_same(exe, args, env=dict(os.environ, SYSGATE_NO_UCPATCH="1"))


HOOK_SKIP = r"""
import sys, threading, time
import sysgate.machine
from sysgate.cpu import ucpatch
import unicorn
from unicorn import x86_const as X, unicorn_const as UC
uc = unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_64)
uc.mem_map(0x1000, 0x1000)
ucpatch.install(uc)
stop = ucpatch.stop_at_block_start(uc) if sys.argv[1] == "ucpatch" else uc.emu_stop
# loop: xor eax,eax; cpuid; cmp ebx,0x11223344; jne out; dec r15; jnz loop; out: nop
code = bytes.fromhex("31c0" "0fa2" "81fb44332211" "7505" "49ffcf" "75ef" "90" "90")
uc.mem_write(0x1000, code)
out = 0x1000 + len(code) - 2
# As in sysgate: a hook for another instruction ahead of the CPUID one in
# Unicorn's list; a stop request found set after it skips the rest.
uc.hook_add(UC.UC_HOOK_INSN, lambda u, _: None, None, 1, 0, X.UC_X86_INS_SYSCALL)
def on_cpuid(u, _):
    u.reg_write(X.UC_X86_REG_EBX, 0x11223344)
    return 1
uc.hook_add(UC.UC_HOOK_INSN, on_cpuid, None, 1, 0, X.UC_X86_INS_CPUID)
done = False
def stopper():
    while not done:
        stop()
        time.sleep(0.0001)
t = threading.Thread(target=stopper)
t.start()
uc.reg_write(X.UC_X86_REG_R15, 200000)
pc, runs, t0 = 0x1000, 0, time.monotonic()
while pc != out and time.monotonic() - t0 < 60:
    uc.emu_start(pc, out)
    runs += 1
    pc = uc.reg_read(X.UC_X86_REG_RIP)
done = True
t.join()
print("left", uc.reg_read(X.UC_X86_REG_R15), "ebx", hex(uc.reg_read(X.UC_X86_REG_EBX)),
      "stopped", runs > 20)
"""


def test_stops_from_another_thread_skip_no_hook():
    """A stop asked from another thread (a signal, a timer, a slice) lands
    at a block's start: Unicorn's uc_emu_stop from there could land while
    an instruction's helper went through its hook list, which then ended
    early: a CPUID answered by Unicorn's model, a SYSCALL whose gate hook
    never ran (RAX kept its number). Here a CPUID loop stopped about ten
    thousand times a second gets the hook's answer every time."""
    p = subprocess.run([sys.executable, "-c", HOOK_SKIP, "ucpatch"], capture_output=True,
                       text=True, env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)
    assert p.returncode == 0, p.stderr
    if ucpatch_refused():
        pytest.skip("the stub is not in use with this Unicorn build")
    assert p.stdout.split() == ["left", "0", "ebx", "0x11223344", "stopped", "True"], p.stdout


def ucpatch_refused():
    return not _run()[0].startswith("in use True")


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_calls_and_cpuid_under_a_signal_storm(variant):
    """Every system call is made and every CPUID answered by the model
    while a timer and another process's signals keep stopping user code
    (before: about one run in two lost a futex call, RAX = 202)."""
    exe = build("timer_cpuid.c", variant)
    native, _ = assert_same(exe, ["100000", "100000", "storm"])
    assert native.stdout.startswith(b"cpuid differed 0 times, futex val3 lost 0 times")


LATER_ENGINE = r"""
import threading
import sysgate.machine
from sysgate.cpu import ucpatch
import unicorn
from unicorn import x86_const as X
first = unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_64)
first.mem_map(0x1000, 0x1000)
ucpatch.install(first)
# A second engine while the first lives (an exec's spare CPU): its code
# buffer lies 1 GiB further down, beyond a rel32 call of Unicorn's helper.
uc = unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_64)
uc.mem_map(0x1000, 0x1000)
code = bytes.fromhex("48c7c100e1f505" "48ffc9" "75fb" "90")
uc.mem_write(0x1000, code)
before = ucpatch.patched_blocks()
uc.emu_start(0x1000, 0x1000 + len(code))
print("ran", uc.reg_read(X.UC_X86_REG_RCX), "rewritten", ucpatch.patched_blocks() > before)
uc.mem_write(0x1100, bytes.fromhex("48ffc0" "ebfb"))
threading.Timer(0.2, ucpatch.stop_at_block_start(uc)).start()
uc.emu_start(0x1100, 0x2000)
print("stopped at", hex(uc.reg_read(X.UC_X86_REG_RIP)))
"""


def test_an_engine_made_later_is_rewritten_too():
    """Each engine has a code buffer of its own; the second one's (made
    while the first runs, as an exec's spare CPU is) calls the helper
    through a constant, too far for a rel32 call: its blocks are rewritten
    too (they were not: an exec'd loop ran 1.4x slower than the same
    program run directly), and stops still land at a block's start."""
    p = subprocess.run([sys.executable, "-c", LATER_ENGINE], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)
    assert p.returncode == 0, p.stderr
    if ucpatch_refused():
        pytest.skip("the inline check is not in use with this Unicorn build")
    assert p.stdout.splitlines() == ["ran 0 rewritten True", "stopped at 0x1100"], p.stdout
