"""The constant calls (getpid, gettid, getuid, geteuid, getgid, getegid)
answered in machine code with no Python (cpu.regbatch.ConstantCalls,
entry.syscall64.keep_answer; for i386 code through __kernel_vsyscall,
SYSENTER on the Intel model and compat SYSCALL on the AMD one:
ConstantCalls32, entry.fast32.keep_answer32): the same answers as Linux's around a fork, a
signal from outside, a timer, single steps and a ptrace tracer; every call
still seen by the trace; and Python really left out of a loop of them."""
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, assert_same, build


@pytest.mark.parametrize("cpu", ["intel", "amd"])
@pytest.mark.parametrize("variant", ["gcc64", "musl64", "gcc32"])
@pytest.mark.parametrize("what", ["loop", "fork", "signal", "timer", "step", "ptrace"])
def test_constant_calls_as_native(what, variant, cpu):
    native, _ = assert_same(build("const_calls.c", variant), args=[what], opts=["--cpu", cpu])
    assert b": 0" not in native.stdout and native.stdout.count(b": ") >= 1, native.stdout


@pytest.mark.parametrize("variant,cpu,gate,egid", [("gcc64", "intel", "syscall/sysretq", "getegid"),
                                                   ("gcc32", "intel", "sysenter/sysretl",
                                                    "getegid32"),
                                                   ("gcc32", "amd", "syscall/sysretl",
                                                    "getegid32")])
def test_every_call_traced(variant, cpu, gate, egid):
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.run([sys.executable, "-m", "sysgate", "trace", "--cpu", cpu,
                        build("const_calls.c", variant), "loop"],
                       capture_output=True, env=env, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    err = p.stderr.decode()
    # the first answers, libc's own call, and 20000 rounds
    assert len(re.findall(rf"^\[{gate}\] getpid\(\) = \d+$", err, re.M)) == 20002
    assert len(re.findall(rf"^\[{gate}\] {egid}\(\) = \d+$", err, re.M)) == 20001


_IN_PROCESS = r"""
import sys
sys.path.insert(0, sys.argv[1])
from sysgate.machine import Machine
exe = sys.argv[2]

def run(n, replace=False):
    m = Machine(cpu=sys.argv[3], seed=1)
    m.load(exe, [exe, str(n)], envp=[])
    if replace:
        seen = [100]
        def getpid(t):
            seen[0] += 1
            return seen[0]
        m.replace_handler("getpid", getpid)
    count = [0]
    def prof(frame, event, arg):
        if event == "call":
            count[0] += 1
    sys.setprofile(prof)
    status = m.run()
    sys.setprofile(None)
    assert status == ("exit", 0), status
    return count[0]

run(100)
print((run(20100) - run(10100)) / 10000, (run(2100, True) - run(1100, True)) / 1000)
"""


@pytest.mark.parametrize("flags,cpu", [((), "intel"), (("-m32", "-DVSYSCALL"), "intel"),
                                       (("-m32", "-DVSYSCALL"), "amd")])
def test_python_left_out(flags, cpu):
    # getpid in a loop: Python calls per call, none once the stub answers;
    # with a handler put in sysgate's place, every call reaches it.
    exe = os.path.join(os.path.dirname(build("const_calls.c", "gcc64")),
                       "getpid_loop_const" + "".join(flags))
    subprocess.run(["gcc", *flags, "-static", "-O1", "-o", exe,
                    os.path.join(ROOT, "bench", "guests", "getpid_loop.c")], check=True)
    out = subprocess.run([sys.executable, "-c", _IN_PROCESS, ROOT, exe, cpu], check=True,
                         capture_output=True, text=True, timeout=600).stdout.split()
    stub, replaced = float(out[0]), float(out[1])
    assert stub < 0.01, out
    assert replaced >= 3, out


@pytest.mark.parametrize("variant,cpu", [("gcc64", "intel"), ("gcc32", "intel"),
                                         ("gcc32", "amd")])
def test_replaced_handler_answers_every_call(variant, cpu):
    from sysgate.machine import Machine
    exe = build("const_calls.c", variant)
    m = Machine(cpu=cpu, seed=1)
    m.load(exe, [exe, "loop"], envp=[])
    calls = []

    def getpid(t):
        calls.append(1)
        return 1000 + len(calls)
    m.replace_handler("getpid", getpid)
    status = m.run()
    assert status == ("exit", 0)
    assert len(calls) == 20002
