"""Socket calls that block inside the host call (a send bigger than the
peer's buffer, a connect to a full backlog): a guest timer's handler ends
them as on Linux, and SIGTERM ends sysgate while it waits."""
import select
import signal
import subprocess
import sys
import time

import pytest

from conftest import ALL, ROOT, assert_same, build


@pytest.mark.parametrize("mode", ["send", "connect"])
@pytest.mark.parametrize("variant", ALL)
def test_handler_ends_a_host_blocked_call(variant, mode):
    assert_same(build("net_block.c", variant), ["h", mode])


@pytest.mark.parametrize("mode", ["send", "connect"])
def test_sigterm_ends_a_host_blocked_call(mode):
    exe = build("net_block.c", "gcc64")
    p = subprocess.Popen([sys.executable, "-m", "sysgate", "run", exe, "-", mode],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env={"PYTHONPATH": ROOT, "PATH": "/usr/bin:/bin"})
    try:
        deadline = time.monotonic() + 60
        line = b""
        while b"ready" not in line and time.monotonic() < deadline:
            select.select([p.stdout], [], [], 5)
            line = p.stdout.readline()
        assert b"ready" in line
        time.sleep(0.3)
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        p.wait(10)
        assert time.monotonic() - t0 < 2
        assert p.returncode == -signal.SIGTERM
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
