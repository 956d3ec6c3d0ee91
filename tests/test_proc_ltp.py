"""What LTP's system-call bench (bench/ltp) found sysgate answering unlike
Linux, each a real program run natively and under sysgate."""
import pytest

from conftest import ALL, assert_same, build, run_sysgate


@pytest.mark.parametrize("variant", ALL)
def test_forked_child_is_in_proc_when_fork_returns(variant):
    """/proc/<child>/stat, cmdline and status read the moment fork returns,
    60 times; a zombie child is still there, an exec'd one shows its name."""
    native, _ = assert_same(build("proc_child_visible.c", variant))
    assert native.stdout == b"ok: 60 children seen at once\n"


@pytest.mark.parametrize("variant", ALL)
def test_proc_self_ns_links(variant):
    """/proc/self/ns/<x> (LTP's clock_gettime03 opens time_for_children):
    links reading the namespace, opening its nsfs file."""
    native, _ = assert_same(build("proc_ns.c", variant))
    assert b"time_for_children: link time, lstat link, stat file, inode matches" in native.stdout


def test_setns_is_refused_to_the_guest():
    """Entering a namespace, even its own, takes CAP_SYS_ADMIN over the host."""
    emu = run_sysgate(build("proc_ns.c", "gcc64"), ["enter"])
    assert emu.stdout == b"setns(own time) = -1 errno 1\n"
