"""clock_gettime and gettimeofday as system calls: their answer stored in
place into host memory where that is the same as the checked write, and
through it everywhere else (code, two mappings, a read-only page, no page,
a vfork child's store into its parent), as on Linux."""
import pytest

from conftest import ALL, assert_same, build


@pytest.mark.parametrize("cpu", ["intel", "amd"])
@pytest.mark.parametrize("variant", ALL)
def test_clock_stores_as_native(variant, cpu):
    native, _ = assert_same(build("clock_store.c", variant), opts=["--cpu", cpu])
    out = native.stdout
    assert b"steps back: 0\n" in out
    assert out.count(b"valid 1") == 10, out
    assert b"read-only: -1 Bad address\n  untouched 1" in out
    assert b"across two mappings: 0" in out and b"vfork child's store seen: 1" in out


def test_clock_stores_without_vdso():
    # No vvar page: the host's clocks, stored the same ways.
    assert_same(build("clock_store.c", "gcc64"), opts=["--no-vdso"])
