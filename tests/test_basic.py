import os

import pytest

from conftest import DYNAMIC, ALL, assert_same, build, run_native, run_sysgate


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
    p.chmod(0o755)          # executable: else execve's answer is EACCES
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
    p.chmod(0o755)
    r = run_sysgate(str(p))
    assert r.status == 126 and b"another machine" in r.stderr


# Dynamic programs: the kernel maps the program and its interpreter (ld.so),
# which maps libc with mmap and finds the vDSO through AT_SYSINFO_EHDR.
DYNAMIC_GUESTS = ["basic.c", "fs_files.c", "signal_basic.c", "proc_fork.c", "vdso_use.c"]


@pytest.mark.parametrize("src", DYNAMIC_GUESTS)
@pytest.mark.parametrize("variant", DYNAMIC)
def test_dynamic_programs(variant, src, tmp_path):
    exe = build(src, variant)
    with open(exe, "rb") as f:
        assert b"ld-" in f.read(4096), "not a dynamic program"
    native_dir, emu_dir = tmp_path / "native", tmp_path / "emu"
    native_dir.mkdir()
    emu_dir.mkdir()
    native = run_native(exe, cwd=native_dir)
    emu = run_sysgate(exe, cwd=emu_dir)
    assert (emu.status, emu.stdout) == (native.status, native.stdout), (native, emu)


def test_host_programs_run_dynamically(tmp_path):
    """The host's own dynamic programs: coreutils' ls (glibc's ld.so, its
    locale and nsswitch set-up, xattrs), and dynamic shells running
    pipelines of them (fork, exec of dynamic programs, pipes)."""
    (tmp_path / "a file").write_text("x" * 10)
    (tmp_path / "sub").mkdir()
    for argv in (["/bin/ls", "-l", "--time-style=+", str(tmp_path)],
                 ["/bin/echo", "dynamic", "echo"],
                 ["/bin/sh", "-c", f"ls {tmp_path} | sort -r; x=$(echo sub); echo $x"],
                 ["/bin/bash", "-c", "for i in 1 2 3; do echo $((i * i)); done | tail -n 2"]):
        if not os.path.exists(argv[0]):
            continue
        native, emu = assert_same(argv[0], argv[1:])
        assert native.status == 0 and native.stdout, native


def test_missing_interpreter_is_a_clear_error(tmp_path):
    """Confined to a root without ld.so, a dynamic program cannot start:
    one line that names the interpreter, and 127 as a shell's 'required file
    not found'."""
    exe = build("basic.c", "gcc64-dyn")
    r = run_sysgate(exe, opts=["--root", str(tmp_path)])
    assert r.status == 127, r
    assert b"cannot load its interpreter /lib64/ld-linux-x86-64.so.2" in r.stderr, r


def test_bad_option():
    r = run_sysgate("/bin/true", opts=["--cpu", "sparc"])
    assert r.status == 2 and b"invalid choice" in r.stderr


@pytest.mark.parametrize("variant", ALL)
def test_floating_point_formatting(variant):
    assert_same(build("float.c", variant, extra=["-lm"]))
