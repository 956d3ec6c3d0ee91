"""What LTP's system-call bench (bench/ltp) found sysgate answering unlike
Linux, each a real program run natively and under sysgate."""
import os
import resource
import subprocess

import pytest

from conftest import ALL, ROOT, assert_same, build, run_sysgate, sysgate_cmd


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


def _limited(soft, hard):
    def preexec():
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return preexec


@pytest.mark.parametrize("limits", [(300, 300), (300, 400), (300, 2000)])
@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_every_descriptor_the_limit_allows(variant, limits):
    """dup and pipe fill the table up to RLIMIT_NOFILE - 1 (LTP's dup03,
    pipe06, pipe07), also where the host's hard limit leaves sysgate's own
    descriptors no room above the guest's (the guest's limits are then
    lowered, never unreachable)."""
    exe = build("fs_nofile_fill.c", variant)
    env = dict(os.environ, PYTHONPATH=ROOT)
    native = subprocess.run([exe], capture_output=True, preexec_fn=_limited(*limits))
    emu = subprocess.run(sysgate_cmd(exe), capture_output=True, env=env,
                         preexec_fn=_limited(*limits))
    assert emu.returncode == native.returncode == 0, (native, emu)
    assert emu.stdout == native.stdout, (native.stdout, emu.stdout)
    assert native.stdout.count(b"limit - 1: yes") == 3, native.stdout


@pytest.mark.parametrize("variant", ALL)
def test_file_size_limit(variant):
    """RLIMIT_FSIZE (LTP's setrlimit01): writes cut at the limit, EFBIG and
    SIGXFSZ past it, ftruncate growing past it refused."""
    native, _ = assert_same(build("fs_fsize.c", variant))
    assert b"write 26                     10 \n" in native.stdout
    assert b"SIGXFSZ caught from itself: 1\n" in native.stdout


@pytest.mark.parametrize("variant", ALL)
def test_unshare(variant):
    """unshare (ENOSYS before; LTP's clock_gettime03 asks CLONE_NEWTIME):
    no-ops, EINVAL for unknown flags and for a threaded process's VM,
    SIGHAND or THREAD."""
    native, _ = assert_same(build("unshare_basic.c", variant, ["-pthread"]))
    assert b"unshare(CLONE_FILES) = 0 errno 0\n" in native.stdout


def test_unshare_of_a_namespace_is_refused_to_the_guest():
    emu = run_sysgate(build("unshare_basic.c", "gcc64", ["-pthread"]), ["ns"])
    assert emu.stdout == (b"unshare(CLONE_NEWTIME) = -1 errno 1\n"
                          b"unshare(CLONE_NEWNS) = -1 errno 1\n"
                          b"unshare(CLONE_NEWUSER) = -1 errno 1\n")
