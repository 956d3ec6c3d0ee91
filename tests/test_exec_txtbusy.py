"""execve of a file open for writing is ETXTBSY, as deny_write_access makes
it (LTP execve04 ran the file instead)."""
import pytest

from conftest import ALL, assert_same, build


@pytest.mark.parametrize("variant", ALL)
def test_exec_txtbusy(variant, tmp_path):
    native, _ = assert_same(build("exec_txtbusy.c", variant), cwd=tmp_path)
    assert b"writer's own execve: errno 26\nchild's execve: errno 26\ncopy runs: x\n" == \
        native.stdout
