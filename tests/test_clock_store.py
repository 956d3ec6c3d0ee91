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


def test_vvar_reader_answers_as_read():
    # The system calls' reader (made once per page) and the page's read,
    # the vDSO's arithmetic, agree everywhere: every clock id, both modes,
    # with and without ticking coarse clocks, TSC values behind the page,
    # at it, and far past it (where 64-bit nanoseconds wrap).
    import random
    from sysgate.vdso import vvar
    rnd = random.Random(13)
    assert vvar.Vvar().reader()(vvar.CLOCK_MONOTONIC, 5) is None
    for _ in range(300):
        shift = rnd.randrange(33)
        v = vvar.Vvar(clock_mode=rnd.choice([vvar.CLOCK_MODE_TSC] * 5 + [vvar.CLOCK_MODE_NONE]),
                      cycle_last=rnd.randrange(1 << 62), mult=rnd.randrange(1 << 32),
                      shift=shift, flags=rnd.choice([0, vvar.F_COARSE_TSC, 3]))
        for clk in rnd.sample(vvar.SERVED_CLOCKS, rnd.randrange(len(vvar.SERVED_CLOCKS) + 1)):
            v.bases[clk] = (rnd.randrange(1 << 40), rnd.randrange(10**9) << shift)
        read = v.reader()
        for tsc in (v.cycle_last, v.cycle_last - rnd.randrange(1, 1 << 20),
                    v.cycle_last + rnd.randrange(1 << rnd.choice([10, 30, 45, 63])), 0):
            for clk in range(-1, 13):
                assert read(clk, tsc) == v.read(clk, tsc), (clk, tsc, v)
