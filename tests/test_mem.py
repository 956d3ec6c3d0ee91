"""Memory system calls, native against sysgate: brk, mmap (anonymous, file,
fixed, shared), mremap, mprotect, madvise, /proc/self/maps, and the
SIGSEGV of a touch where nothing (or nothing writable) is mapped, the SIGBUS
of one past the end of a mapped file."""
import pytest

from conftest import ALL, assert_same, build


@pytest.mark.parametrize("variant", ALL)
def test_mappings(variant, tmp_path):
    native, _ = assert_same(build("mem_map.c", variant), cwd=tmp_path)
    out = native.stdout.decode()
    assert "maps: well-formed 1, [stack] 1, [heap] 1, exe lines>0 1" in out
    assert "shared file mapping wrote: 'written through the map'" in out
    assert out.endswith("done\n")


# Each case prints with write(2), then touches memory it may not: SIGSEGV.
FAULTS = ["munmap", "readonly", "none", "exec", "mremap", "brk", "null"]


@pytest.mark.parametrize("case", FAULTS)
@pytest.mark.parametrize("variant", ALL)
def test_fault_kills_with_sigsegv(variant, case, tmp_path):
    native, emu = assert_same(build("mem_segv.c", variant), [case], cwd=tmp_path)
    assert native.status == 139 and emu.status == 139
    assert b"survived" not in native.stdout


# --- SIGBUS: file pages past the end of the file -----------------------------------

@pytest.mark.parametrize("variant", ALL)
def test_sigbus_past_end_of_file(variant, tmp_path):
    native, _ = assert_same(build("mem_sigbus.c", variant), cwd=tmp_path)
    out = native.stdout.decode()
    # Linux's answers, so that a host that stopped giving them shows here.
    assert "private past end read        signal 7 code 2 addr=base+8192 trapno=14 err=0x4" in out
    assert "private past end exec        signal 7 code 2 addr=base+8208 trapno=14 err=0x14 ip=addr" in out
    assert "shared after growing         wrote\nfile sees the shared store: 7\n" in out
    assert "private page 1 after shrink  signal 7 code 2" in out
    assert "child past end               signal 7 code 2" in out
    assert out.endswith("child status 0\n")


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_sigbus_kills(variant, tmp_path):
    native, emu = assert_same(build("mem_sigbus.c", variant), ["die"], cwd=tmp_path)
    assert native.status == 128 + 7 and emu.status == 128 + 7
    assert native.stdout.endswith(b"dying\n")
