"""User code stopped from another host thread (a timer's deadline, a signal
from outside, a thread's slice) resumes exactly where it stopped: a
read-modify-write instruction interrupted a thousand times a second runs
once per iteration, as natively."""
import pytest

from conftest import ALL, assert_same, build


@pytest.mark.parametrize("variant", ALL)
def test_rmw_instructions_run_once_under_a_timer_storm(variant):
    native, _ = assert_same(build("timer_rmw.c", variant), ["2000000"])
    assert native.stdout.endswith(b"timer fired: 1\n")
