"""The vDSO as programs use it: found through the auxiliary vector, used by
glibc and musl for time, never stepping back across the system call, and
visible in sysgate's trace (which strace cannot show)."""
import os
import re
import subprocess
import sys

import pytest

from conftest import ALL, ROOT, assert_same, build, run_sysgate


def trace(exe, *opts):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "sysgate", "trace", *opts, exe],
                          capture_output=True, env=env, timeout=300)


@pytest.mark.parametrize("cpu", ["intel", "amd"])
@pytest.mark.parametrize("variant", ALL)
def test_vdso_as_native(variant, cpu):
    native, _ = assert_same(build("vdso_use.c", variant), opts=["--cpu", cpu])
    assert b"AT_SYSINFO_EHDR present: 1" in native.stdout
    assert native.stdout.count(b"never steps back across the syscall: 1") == 3
    assert b": 0" not in native.stdout


@pytest.mark.parametrize("variant", ALL)
def test_time_calls_stay_in_user_mode(variant):
    p = trace(build("vdso_use.c", variant))
    err = p.stderr.decode()
    assert p.returncode == 0, err
    vdso_lines = [l for l in err.splitlines() if l.startswith("[vdso] clock_gettime")]
    assert len(vdso_lines) >= 3 * 2 * 3000
    assert re.search(r"^\[vdso\] clock_gettime(64)?\(CLOCK_MONOTONIC, \{tv_sec=\d+, tv_nsec=\d+\}\)"
                     r" = 0$", err, re.M)
    # The only clock_gettime system calls are the test's own and the
    # CPU-time clock the vDSO does not serve.
    calls = re.findall(r"^\[\w+/\w+\] clock_gettime(?:64)?\((\w+),", err, re.M)
    assert len(calls) == 3 * 3000 + 1
    assert calls.count("CLOCK_PROCESS_CPUTIME_ID") == 1


@pytest.mark.parametrize("variant", ALL)
def test_no_vdso(variant):
    exe = build("vdso_use.c", variant)
    r = run_sysgate(exe, opts=["--no-vdso"])
    assert r.status == 0
    assert b"AT_SYSINFO_EHDR present: 0" in r.stdout
    assert b"maps: [vdso] 0 [vvar] 0 [stack] 1" in r.stdout
    assert b"never steps back across the syscall: 0" not in r.stdout
    p = trace(exe, "--no-vdso")
    assert not re.search(rb"^\[vdso\] ", p.stderr, re.M)
    assert re.search(rb"^\[\w+/\w+\] clock_gettime(64)?\(CLOCK_MONOTONIC, ", p.stderr, re.M)


@pytest.mark.parametrize("cpu,gate,path", [("intel", "sysenter", "sysretl"),
                                           ("amd", "syscall", "sysretl"),
                                           ("i486", "int80", "iret")])
def test_kernel_vsyscall_uses_the_cpu_gate(cpu, gate, path):
    p = trace(build("trace_calls.c", "gcc32"), "--cpu", cpu)
    lines = [l for l in p.stderr.decode().splitlines() if l.startswith("[")]
    writes = [l for l in lines if "] write(1," in l]
    assert writes and writes[0].startswith(f"[{gate}/{path}] ")
