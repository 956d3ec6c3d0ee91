"""Debian's busybox-static (a static x86-64 glibc program) under sysgate,
applet by applet, against the same applet run natively."""
import os
import shutil

import pytest

from conftest import assert_same

BUSYBOX = "/bin/busybox"
pytestmark = pytest.mark.skipif(
    not os.path.exists(BUSYBOX) and not os.environ.get("CI"),
    reason="busybox-static not installed")

TEXT = b"pear\napple\nfig\nbanana\napple\n"


@pytest.fixture
def workdir(tmp_path):
    if not os.path.exists(BUSYBOX):
        pytest.fail("busybox-static is not installed (see .ci/run)")
    (tmp_path / "fruit.txt").write_bytes(TEXT)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a").write_bytes(b"x" * 1234)
    os.symlink("fruit.txt", tmp_path / "link")
    script = tmp_path / "script.sh"
    script.write_bytes(b"#!/bin/busybox sh\necho \"$0 got $# args: $*\"\nexit 5\n")
    script.chmod(0o755)
    return tmp_path


CASES = {
    "echo": (["echo", "hello", "  spaced  ", "-n"], None),
    "cat": (["cat", "fruit.txt", "sub/a"], None),
    "cat-stdin": (["cat"], TEXT),
    "wc": (["wc", "fruit.txt"], None),
    "wc-stdin": (["wc", "-l"], TEXT),
    "sort": (["sort", "fruit.txt"], None),
    "sort-unique-reverse": (["sort", "-u", "-r"], TEXT),
    "sha256sum": (["sha256sum", "fruit.txt", "sub/a"], None),
    "head": (["head", "-n", "2", "fruit.txt"], None),
    "tr": (["tr", "a-z", "A-Z"], TEXT),
    "seq": (["seq", "2", "3", "20"], None),
    "expr": (["expr", "6", "*", "7"], None),
    "expr-false": (["expr", "0", "+", "0"], None),
    "ls": (["ls", "-a", "."], None),
    "cat-missing": (["cat", "no-such-file"], None),
    # The shell: fork, execve (of busybox itself and of a #! script), pipes,
    # wait statuses, command substitution, a signal's exit status.
    "sh-pipeline": (["sh", "-c", "echo hi | /bin/busybox tr a-z A-Z; "
                     "/bin/busybox sort fruit.txt | /bin/busybox uniq -c | /bin/busybox wc -l; "
                     "x=$(/bin/busybox expr 6 '*' 7); echo \"[$x]\"; "
                     "/bin/busybox false || echo status $?; "
                     "./script.sh one two; echo script $?; "
                     "/bin/busybox sh -c 'kill -TERM $$'; echo killed $?; exit 3"], None),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_applet(workdir, name):
    args, stdin = CASES[name]
    assert_same(BUSYBOX, args, cwd=workdir, input=stdin)


def test_ls_long(workdir):
    # Times and sizes are the host's own: ls -l must print exactly the same.
    os.utime(workdir / "fruit.txt", (1_000_000_000, 1_000_000_000))
    assert_same(BUSYBOX, ["ls", "-l", "--full-time", "fruit.txt", "link", "sub"], cwd=workdir)
