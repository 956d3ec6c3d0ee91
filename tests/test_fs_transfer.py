"""Descriptor-to-descriptor transfers, record locks and descriptor housekeeping real
programs make (splice, tee, vmsplice, copy_file_range, close_range) and
prctl, natively and under sysgate, with their errors."""
import pytest

from conftest import ALL, assert_same, build


@pytest.mark.parametrize("variant", ALL)
def test_splice_family_close_range_prctl(variant):
    assert_same(build("fs_splice.c", variant))


@pytest.mark.parametrize("variant", ALL)
def test_record_locks_between_processes(variant):
    assert_same(build("fs_locks.c", variant))
