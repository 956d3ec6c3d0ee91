"""Pseudo-terminals through the host's own ptys: the calls a terminal
program makes, natively and under sysgate; and the request that would push
input into a terminal the guest shares with the user (TIOCSTI) refused."""
import pytest

from conftest import ALL, assert_same, build, run_sysgate


@pytest.mark.parametrize("variant", ALL)
def test_pty(variant):
    assert_same(build("tty_pty.c", variant))


def test_tiocsti_refused():
    emu = run_sysgate(build("tty_pty.c", "gcc64"), ["sti"])
    assert emu.stdout == b"TIOCSTI = -1 errno 5\n"
