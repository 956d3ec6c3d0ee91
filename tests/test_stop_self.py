"""A guest that stops itself with SIGSTOP: the parent's waitpid(WUNTRACED)
sees it stopped by SIGSTOP, and SIGCONT lets it finish (LTP waitpid08 ended
in internal errors: SIGSTOP's host action cannot be set; a stop that outlasts
the signal helper's wait gave it an unfilled siginfo)."""
import pytest

from conftest import ALL, assert_same, build


@pytest.mark.parametrize("variant", ALL)
def test_stop_self(variant):
    native, _ = assert_same(build("stop_self.c", variant))
    assert b"raise: 1 stopped 1 sig 19\nexited 1 status 3\n" in native.stdout
