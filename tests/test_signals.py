"""Signal delivery, frames and sigreturn, compared with the real kernel."""
import pytest

from conftest import ALL, assert_same, build


@pytest.mark.parametrize("variant", ALL)
def test_signal_basic(variant):
    native, _ = assert_same(build("signal_basic.c", variant))
    assert native.signal == 12       # dies of the SIGUSR2 it raises last
    assert b"ud2 skipped" in native.stdout


@pytest.mark.parametrize("variant", ALL)
def test_blocking_calls_interrupted_and_restarted(variant):
    native, _ = assert_same(build("signal_restart.c", variant))
    assert native.signal == 14
    assert b"SA_RESTART read: 1 'x'" in native.stdout
