"""The last mile of issue #14: the core flag of a killed child, execve
under signals, LDT segments, I/O ports, the vsyscall page and the LTP
cases where sysgate once answered differently from Linux."""
import os
import subprocess
import sys

import pytest

from conftest import ALL, ROOT, assert_same, build


@pytest.mark.parametrize("variant", ALL)
def test_wait_coredump(variant, tmp_path):
    """WCOREDUMP and CLD_DUMPED exactly when Linux dumps: the child's
    RLIMIT_CORE (0 or its hard limit), dumpable flag and cwd (/proc: no file
    can be made there) and the host's core_pattern decide, natively and
    under sysgate alike, run in the same fresh directory."""
    exe = build("wait_coredump.c", variant)
    native, emu = assert_same(exe, cwd=tmp_path)
    assert b"mode 5: waitid code 2 status 15" in native.stdout
    assert not os.path.exists(tmp_path / "core")
