"""Stops from outside a program that has set no signal action, no timer and
no second thread: its CPU runs without the per-block stop hook (a fifth of
compute speed), so such a stop is exact only where exactness is needed.
A signal that kills stops it at once; one that is ignored leaves it alone
(its read-modify-write instructions still run once each); a timer kept
across execve still interrupts it."""
import os
import signal
import subprocess
import time

import pytest

from conftest import ALL, ROOT, assert_same, build, run_native, sysgate_cmd


def _start(exe, *args):
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.Popen(sysgate_cmd(exe, *args), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    assert p.stdout.readline() == b"spinning\n"
    return p


@pytest.mark.parametrize("variant", ALL)
def test_a_fatal_signal_ends_a_computing_program_at_once(variant):
    p = _start(build("spin_outside.c", variant), "forever")
    time.sleep(0.2)
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    try:
        out, err = p.communicate(timeout=20)
    finally:
        p.kill()
    assert p.returncode == -signal.SIGTERM, err
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("variant", ALL)
def test_ignored_signals_leave_the_computation_exact(variant):
    exe = build("spin_outside.c", variant)
    n = "3000000"
    native = run_native(exe, ["spin", n])
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.Popen(sysgate_cmd(exe, "spin", n), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    try:
        # SIGWINCH and SIGCHLD are ignored by default, SIGCONT continues a
        # running program: none has anything to do in user code.
        while p.poll() is None:
            for s in (signal.SIGWINCH, signal.SIGCHLD, signal.SIGCONT):
                try:
                    p.send_signal(s)
                except ProcessLookupError:
                    break
            time.sleep(0.001)
        out, err = p.communicate(timeout=120)
    finally:
        p.kill()
    assert (p.returncode, out, err) == (0, native.stdout, b"")


@pytest.mark.parametrize("variant", ALL)
def test_a_timer_kept_across_execve_interrupts_the_new_program(variant):
    exe = build("spin_outside.c", variant)
    native, emu = assert_same(exe, ["alarm-exec"])
    assert native.signal == signal.SIGALRM


def _stopped_within(p, seconds):
    """The wait status once p stops (WUNTRACED), or None after seconds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pid, status = os.waitpid(p.pid, os.WUNTRACED | os.WNOHANG)
        if pid:
            return status
        time.sleep(0.02)
    return None


def _own_group_default_tstp():
    # A process group of its own under this one (so not orphaned: the host
    # discards SIGTSTP sent into an orphaned group) and SIGTSTP's default
    # action, whatever the test runner inherited.
    signal.signal(signal.SIGTSTP, signal.SIG_DFL)


@pytest.mark.parametrize("variant", ALL)
def test_a_stop_signal_stops_a_computing_program_at_once(variant):
    """^Z (SIGTSTP) with no action set: the whole program stops at once, as
    natively, though no system call comes to give an exact stop point; the
    parent sees WSTOPSIG SIGTSTP, and SIGCONT lets it go on."""
    exe = build("spin_outside.c", variant)
    statuses = []
    for cmd, env in (([exe, "forever"], None),
                     (sysgate_cmd(exe, "forever"), dict(os.environ, PYTHONPATH=ROOT))):
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                             process_group=0, preexec_fn=_own_group_default_tstp)
        try:
            assert p.stdout.readline() == b"spinning\n"
            time.sleep(0.2)
            p.send_signal(signal.SIGTSTP)
            stopped = _stopped_within(p, 10)
            statuses.append(stopped and os.WIFSTOPPED(stopped) and os.WSTOPSIG(stopped))
            p.send_signal(signal.SIGCONT)
            time.sleep(0.2)
            p.send_signal(signal.SIGTERM)
            _, status = os.waitpid(p.pid, 0)
            p.returncode = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else status >> 8
            statuses.append(p.returncode)
        finally:
            if p.returncode is None:
                p.kill()
                p.wait()
    native, emu = statuses[:2], statuses[2:]
    assert native == [signal.SIGTSTP, -signal.SIGTERM], native
    assert emu == native


@pytest.mark.parametrize("variant", ALL)
def test_attach_stops_a_computing_program_at_once(variant):
    """A tracer's PTRACE_ATTACH reaches a freshly exec'd program that never
    makes a system call: the stop is taken where the program is."""
    native, _ = assert_same(build("attach_spinner.c", variant))
    assert b"within 2 s: 1" in native.stdout
