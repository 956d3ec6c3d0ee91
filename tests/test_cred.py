"""Credentials: the set*id family and capget/capset, natively and under
sysgate. The guest's identity is its host process's, so a guest that drops
root loses the host's root for every later access too (the secret file)."""
import os

import pytest

from conftest import ALL, assert_same, build


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
