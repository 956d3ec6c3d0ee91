"""What LTP's system-call bench (bench/ltp) found sysgate answering unlike
Linux, each a real program run natively and under sysgate."""
import pytest

from conftest import ALL, assert_same, build


@pytest.mark.parametrize("variant", ALL)
def test_forked_child_is_in_proc_when_fork_returns(variant):
    """/proc/<child>/stat, cmdline and status read the moment fork returns,
    60 times; a zombie child is still there, an exec'd one shows its name."""
    native, _ = assert_same(build("proc_child_visible.c", variant))
    assert native.stdout == b"ok: 60 children seen at once\n"
