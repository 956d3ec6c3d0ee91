import os

import pytest

from conftest import ALL, assert_same, build, run_sysgate


@pytest.mark.parametrize("variant", ALL)
def test_argv_env_stdin_status(variant):
    exe = build("basic.c", variant)
    env = dict(os.environ, SYSGATE_TEST_VAR="hello world")
    assert_same(exe, ["42", "two words", ""], input=b"line one\nline two\n", env=env)


@pytest.mark.parametrize("variant", ALL)
def test_exit_status_zero(variant):
    assert_same(build("basic.c", variant), [], input=b"")


def test_missing_program():
    r = run_sysgate("/nonexistent/program")
    assert r.status == 127
    assert r.stderr == b"sysgate: /nonexistent/program: No such file or directory\n"


def test_not_elf(tmp_path):
    p = tmp_path / "script.txt"
    p.write_text("just text\n")
    r = run_sysgate(str(p))
    assert r.status == 126 and b"not an ELF file" in r.stderr
    assert r.stderr.count(b"\n") == 1


def test_wrong_machine(tmp_path):
    p = tmp_path / "arm"
    hdr = bytearray(64)
    hdr[:4] = b"\x7fELF"
    hdr[4], hdr[5], hdr[6] = 2, 1, 1
    hdr[16:18] = (2).to_bytes(2, "little")
    hdr[18:20] = (183).to_bytes(2, "little")     # EM_AARCH64
    p.write_bytes(bytes(hdr))
    r = run_sysgate(str(p))
    assert r.status == 126 and b"another machine" in r.stderr


def test_dynamic_program_is_refused_clearly(tmp_path):
    src = tmp_path / "dyn.c"
    src.write_text("int main(void){return 0;}\n")
    exe = tmp_path / "dyn"
    os.system(f"gcc -o {exe} {src}")
    r = run_sysgate(str(exe))
    assert r.status == 126
    assert b"needs an interpreter: /lib64/ld-linux-x86-64.so.2" in r.stderr


def test_bad_option():
    r = run_sysgate("/bin/true", opts=["--cpu", "sparc"])
    assert r.status == 2 and b"invalid choice" in r.stderr


@pytest.mark.parametrize("variant", ALL)
def test_floating_point_formatting(variant):
    assert_same(build("float.c", variant, extra=["-lm"]))
