"""/proc/config.gz, the running kernel's build configuration, reads as on
the host (LTP's tst_kconfig parses it: clock_gettime02/03 broke without)."""
import os

import pytest

from conftest import assert_same


def test_proc_config_gz():
    if not os.path.exists("/proc/config.gz"):
        pytest.skip("this host's kernel has no /proc/config.gz")
    script = "zcat /proc/config.gz | md5sum; ls /proc | grep -x config.gz"
    native, _ = assert_same("/bin/sh", ["-c", script])
    assert b"config.gz" in native.stdout
