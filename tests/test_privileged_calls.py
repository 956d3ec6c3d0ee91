"""Calls that act on the whole host (mount, reboot, the host's clock and
names, chroot, swap, accounting, namespaces): sysgate answers them as Linux
answers a process without capabilities, even when sysgate runs as root.
The oracle is the same program run natively with no capabilities."""
import os
import shutil

import pytest

from conftest import ALL, build, run_native, run_sysgate


@pytest.mark.parametrize("variant", ALL)
def test_privileged_calls_refused(variant):
    exe = build("priv_calls.c", variant)
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv (util-linux) is needed to run the oracle without capabilities")
        native = run_native("setpriv", ["--bounding-set=-all", "--", exe])
    else:
        native = run_native(exe)
    emu = run_sysgate(exe)
    assert native.status == emu.status == 0, (native, emu)
    assert emu.stdout == native.stdout
    assert b"mount(tmpfs) = -1 errno 1" in emu.stdout
