"""Scheduling policies (sched_{get,set}scheduler/param/attr, priority
ranges, sched_rr_get_interval) as Linux answers a process without
CAP_SYS_NICE. sysgate asks the host for the policies a guest may take and
refuses the real-time and deadline ones; the oracle, and sysgate itself,
run without capabilities so that the host answers alike."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ALL, ROOT, build


def _nocaps(cmd):
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv (util-linux) runs the oracle without capabilities")
        return ["setpriv", "--bounding-set=-all", "--"] + cmd
    return cmd


@pytest.mark.parametrize("variant", ALL)
def test_sched_policy(variant):
    exe = build("sched_policy.c", variant)
    env = dict(os.environ, PYTHONPATH=ROOT)
    native = subprocess.run(_nocaps([exe]), capture_output=True, timeout=60)
    emu = subprocess.run(_nocaps([sys.executable, "-m", "sysgate", "run", exe]),
                         capture_output=True, env=env, timeout=300)
    assert native.returncode == emu.returncode == 0, (native, emu)
    assert emu.stderr == native.stderr == b""
    assert emu.stdout == native.stdout
    assert b"setscheduler(FIFO, 10) = -1 errno 1\n" in emu.stdout
    assert b"getscheduler(0) = 3\n" in emu.stdout
