"""execve reads argv and envp as Linux's copy_strings does (kernel/exec.py
_strings and its window): a long scattered environment, arrays and strings
at the edges of mappings, EFAULT, and E2BIG for a string of MAX_ARG_STRLEN."""
import pytest

from conftest import ALL, assert_same, build


@pytest.mark.parametrize("variant", ALL)
def test_exec_args(variant, tmp_path):
    native, _ = assert_same(build("exec_args.c", variant), cwd=tmp_path)
    out = native.stdout.decode()
    assert "600 env strings" in out
    assert "array runs into a hole: errno 14" in out
    assert "unmapped string: errno 14" in out
    assert "string runs into a hole: errno 14" in out
    assert "last arg 131071 bytes" in out
    assert "string too long: errno 7" in out
    assert out.endswith("done\n")
