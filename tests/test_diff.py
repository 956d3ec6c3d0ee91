"""sysgate diff: the sequence of system calls under the real kernel (strace)
and under sysgate, and a divergence planted through the handler API."""
import io
import os
import subprocess
import sys

import pytest

from conftest import ALL, ROOT, build

sys.path.insert(0, ROOT)
from sysgate.machine import Machine  # noqa: E402
from sysgate.trace import diff  # noqa: E402
from sysgate.trace.strace import StracePrinter  # noqa: E402


@pytest.mark.parametrize("variant", ALL)
@pytest.mark.parametrize("guest", ["trace_calls.c", "basic.c"])
def test_diff_agrees(variant, guest):
    exe = build(guest, variant)
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.run([sys.executable, "-m", "sysgate", "diff", exe], capture_output=True,
                       env=env, timeout=300)
    assert p.returncode == 0, p.stdout.decode()
    assert p.stdout.startswith(b"agree: ")


def test_diff_finds_planted_divergence():
    exe = build("basic.c", "gcc64")
    native, _ = diff.native_calls(exe, ["5"])
    out = io.StringIO()
    m = Machine(seed=3)
    m.load(exe, [exe, "5"], envp=[])
    for fd in (0, 1, 2):       # as diff.native_calls runs it: stdio on /dev/null
        m.task.files.install_at(fd, os.open(os.devnull, os.O_RDWR), os.devnull)
    m.enable_tracing(strsize=64)
    m.events.subscribe(StracePrinter(out))
    m.replace_handler("geteuid", lambda t: 4242)
    m.run()
    emulated = diff.parse(out.getvalue().splitlines())
    i = diff.first_divergence(native, emulated)
    assert i is not None
    assert native[i].name == emulated[i].name == "geteuid"
    assert emulated[i].result == "4242"
    report = io.StringIO()
    assert diff.report(native, emulated, report) == 1
    assert "first divergence at call" in report.getvalue()
