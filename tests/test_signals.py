"""Signal delivery, frames and sigreturn, compared with the real kernel."""
import pytest

from conftest import ALL, assert_same, build


@pytest.mark.parametrize("variant", ALL)
def test_signal_basic(variant):
    native, _ = assert_same(build("signal_basic.c", variant))
    assert native.signal == 12       # dies of the SIGUSR2 it raises last
    assert b"ud2 skipped" in native.stdout
