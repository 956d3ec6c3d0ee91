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

from conftest import BENCH_GUESTS, ROOT, assert_same, build, python_calls_per_call


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


@pytest.mark.parametrize("variant,extra,cpu", [("gcc64", [], "intel"),
                                               ("gcc32", ["-DVSYSCALL"], "intel"),
                                               ("gcc32", ["-DVSYSCALL"], "amd")])
def test_python_left_out(variant, extra, cpu):
    # getpid in a loop: Python calls per call, none once the stub answers;
    # with a handler put in sysgate's place, every call reaches it.
    exe = build("getpid_loop.c", variant, extra, guests=BENCH_GUESTS)
    stub = python_calls_per_call(exe, cpu, 10100, 20100)
    replaced = python_calls_per_call(exe, cpu, replace=True)
    assert stub < 0.01, (stub, replaced)
    assert replaced >= 3, (stub, replaced)


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
