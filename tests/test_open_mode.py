"""open's mode argument as build_open_how takes it: the permission bits of
a creating open, nothing else (LTP chown03 failed with EINVAL)."""
import pytest

from conftest import ALL, assert_same, build


@pytest.mark.parametrize("variant", ALL)
def test_open_mode(variant, tmp_path):
    native, _ = assert_same(build("open_mode.c", variant), cwd=tmp_path)
    assert b"creat S_IFREG|0644: ok 0\nmode 100644\n" in native.stdout
