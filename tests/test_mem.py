"""Memory system calls, native against sysgate: brk, mmap (anonymous, file,
fixed, shared), mremap, mprotect, madvise, /proc/self/maps, and the
SIGSEGV of a touch where nothing (or nothing writable) is mapped."""
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
