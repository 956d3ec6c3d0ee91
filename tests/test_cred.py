"""Credentials: the set*id family and capget/capset, natively and under
sysgate. The guest's identity is its host process's, so a guest that drops
root loses the host's root for every later access too (the secret file)."""
import os

import pytest

from conftest import ALL, assert_same, build, run_native, run_sysgate


@pytest.mark.parametrize("variant", ALL)
def test_set_ids_and_capabilities(variant, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("only root reads this\n")
    os.chmod(secret, 0o600)
    os.chmod(tmp_path, 0o755)
    native, _ = assert_same(build("cred_ids.c", variant), [str(secret)])
    if os.geteuid() == 0:
        # The drop really happened: the file root could read is refused.
        assert b"open(secret) as 1000 = -1 errno 13" in native.stdout
        assert b"setuid(0) after dropping all = -1 errno 1" in native.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping root needs root")
@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_calls_after_dropping_root(variant):
    """kernel.lazyreg.import_everything: a guest that became nobody still
    gets handlers sysgate had not imported yet (ptrace's imports json,
    which a plain start no longer does). PTRACE_TRACEME differs from the
    native run by design: the first guest's parent is not a guest, so it is
    EPERM (kernel/ptrace/calls.py); natively it is 0."""
    exe = build("cred_drop.c", variant)
    native = run_native(exe)
    emu = run_sysgate(exe)
    assert emu.status == native.status == 0, emu
    assert b"traceme 0 0\n" in native.stdout
    assert emu.stdout == native.stdout.replace(b"traceme 0 0\n", b"traceme -1 1\n"), emu
