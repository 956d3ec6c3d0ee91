"""Waits that something must end: every blocking call ends on a signal from
outside (SIGTERM, SIGINT, SIGHUP kill sysgate as they kill the program; a
handler makes the call fail with EINTR), timers fire while a program
computes, a timer storm degrades, and the time and wait calls answer every
argument as Linux does."""
import os
import select
import signal
import subprocess
import sys
import time

import pytest

from conftest import ALL, ROOT, assert_same, build, run_native, run_sysgate

# Each blocks in one call until a signal comes (tests/guests/wait_block.c).
MODES = ["read", "readv", "write", "writev", "fifo_r", "fifo_w", "wait4", "waitid",
         "nanosleep", "futex", "poll", "select", "epoll", "pause", "recv", "sockread",
         "accept", "stdin"]
DEADLINE = 1.0          # seconds from the signal to the end of sysgate


def _start(cmd, tmp_path, mode, stdin):
    args = [*cmd, mode]
    return subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, PYTHONPATH=ROOT), cwd=tmp_path)


@pytest.fixture
def procs_left():
    """Processes a failing test leaves blocked are killed."""
    started = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait()


def _blocked(exe, tmp_path, modes, handler, native=False, left=None):
    """Start exe blocking in each mode (all at once, to keep the test short)
    and wait until each says it is about to block: {mode: process}."""
    cmd = [exe] if native else [sys.executable, "-m", "sysgate", "run", exe]
    procs = {}
    for mode in modes:
        fifo = str(tmp_path / f"fifo-{mode}-{native}")    # one each: no partner
        os.mkfifo(fifo)
        # stdin: a pty nobody types on (a tty read), else a pipe kept open.
        if mode == "stdin":
            master, slave = os.openpty()
            stdin, keep = slave, master
        else:
            r, w = os.pipe()
            stdin, keep = r, w
        p = _start(cmd + [mode, "h" if handler else "-", fifo], tmp_path, "", stdin)
        os.close(stdin)
        p.keep = keep
        procs[mode] = p
        if left is not None:
            left.append(p)
    for mode, p in procs.items():
        ready, _, _ = select.select([p.stdout], [], [], 60)
        assert ready and p.stdout.readline() == b"ready\n", mode
    time.sleep(0.3)          # into the call itself
    return procs


def _end(p):
    out, err = p.communicate(timeout=10)
    os.close(p.keep)
    return out, err


@pytest.mark.parametrize("signo", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signal_from_outside_ends_every_wait(tmp_path, signo, procs_left):
    """sysgate blocked in any call dies of a signal whose action is to kill,
    within a second, as the program would (status 128+N and the shell's
    word, sysgate's way of reporting a death by signal)."""
    exe = build("wait_block.c", "gcc64")
    modes = MODES if signo == signal.SIGTERM else ["read", "stdin", "fifo_r", "wait4",
                                                    "nanosleep", "poll", "futex", "accept"]
    procs = _blocked(exe, tmp_path, modes, handler=False, left=procs_left)
    slow = {}
    for mode, p in procs.items():
        t0 = time.monotonic()
        p.send_signal(signo)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
        took = time.monotonic() - t0
        out, err = _end(p)
        assert p.returncode == -signo, (mode, p.returncode, err)
        if took > DEADLINE:
            slow[mode] = took
    assert not slow, slow


def test_handled_signal_interrupts_every_wait(tmp_path, procs_left):
    """With a handler (no SA_RESTART), each call fails with EINTR, natively
    and under sysgate alike, and the program goes on."""
    exe = build("wait_block.c", "gcc64")
    emu = _blocked(exe, tmp_path, MODES, handler=True, left=procs_left)
    nat = _blocked(exe, tmp_path, MODES, handler=True, native=True, left=procs_left)
    for procs in (emu, nat):
        for mode, p in procs.items():
            p.t0 = time.monotonic()
            p.send_signal(signal.SIGTERM)
    # Each one's own time from its signal to its end: 36 processes end at
    # once, so the bound grows with the machine's load (a wait that the
    # signal does not end never ends, and fails at any bound).
    bound = 5 + 2 * os.getloadavg()[0] / (os.cpu_count() or 1)
    took = {}
    while len(took) < len(MODES) and time.monotonic() - min(p.t0 for p in emu.values()) < 60:
        for mode, p in emu.items():
            if mode not in took and p.poll() is not None:
                took[mode] = time.monotonic() - p.t0
        time.sleep(0.01)
    for mode in MODES:
        outs = []
        for procs in (nat, emu):
            p = procs[mode]
            out, err = _end(p)
            outs.append((out, p.returncode))
        (n_out, n_rc), (e_out, e_rc) = outs
        assert n_out == f"{mode}: -1 Interrupted system call caught 15\n".encode(), n_out
        assert (e_out, e_rc) == (n_out, n_rc), mode
        assert took.get(mode, 60) < bound, (mode, took, bound)


@pytest.mark.parametrize("variant", ALL)
def test_partial_pipe_write_then_handler(variant):
    """1 MiB into a pipe nobody drains, an itimer pending: Linux writes what
    fits (65536) and returns that count when the alarm's handler runs."""
    native, _ = assert_same(build("wait_block.c", variant), ["partial"])
    assert native.stdout == b"write 1 MiB: 65536  caught 14\n"


@pytest.mark.parametrize("variant", ALL)
def test_fifo_open_truncate_execve(variant, tmp_path):
    """A FIFO with no other end: truncate EINVAL, execve EACCES, blocking
    opens interrupted by an alarm (EINTR), the non-blocking ones as Linux."""
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    native, _ = assert_same(build("wait_block.c", variant), ["fifo", fifo])
    assert b"open O_RDONLY with an alarm: -1 Interrupted system call caught 14" \
        in native.stdout
    assert b"write 1 MiB into the FIFO: 65536  caught 14" in native.stdout


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_socket_timeouts_end_blocking_read_and_write(variant):
    """SO_RCVTIMEO and SO_SNDTIMEO bound a blocking read and write: EAGAIN,
    or the count written before the timeout."""
    native, _ = assert_same(build("wait_block.c", variant), ["sock_timeouts"])
    assert native.stdout == (b"read with SO_RCVTIMEO: -1 Resource temporarily unavailable"
                             b" caught 0\nwrite with SO_SNDTIMEO wrote some: 1  caught 0\n"
                             b"write with SO_SNDTIMEO, full: -1 Resource temporarily "
                             b"unavailable caught 0\n")


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_guest_timer_ends_tty_read(variant):
    """A read on a terminal (a pty nobody types on) ends with EINTR when the
    guest's own timer fires, as natively."""
    exe = build("wait_block.c", variant)
    outs = []
    for cmd in ([exe], [sys.executable, "-m", "sysgate", "run", exe]):
        master, slave = os.openpty()
        p = subprocess.run(cmd + ["tty_timer"], stdin=slave, capture_output=True, timeout=60,
                           env=dict(os.environ, PYTHONPATH=ROOT))
        os.close(master)
        os.close(slave)
        outs.append((p.stdout, p.returncode))
    assert outs[0] == (b"read a tty with a timer: -1 Interrupted system call caught 14\n", 0)
    assert outs[1] == outs[0]


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_forked_child_alarm_while_computing(variant):
    """A forked child's alarm ends it in the middle of a loop without a
    single system call."""
    native, emu = assert_same(build("wait_timers.c", variant), ["child"])
    assert native.stdout == b"child killed by signal 14\n"


@pytest.mark.parametrize("usec", [100, 1])
def test_timer_storm_keeps_the_program_going(usec):
    """An interval timer far faster than sysgate can deliver its signal:
    the program still finishes its loop, in bounded time. (Natively a 1 us
    itimer stops the program for good: each return to user mode finds the
    next SIGALRM; sysgate gives the program at least 1 ms between two.)"""
    exe = build("wait_timers.c", "gcc64")
    t0 = time.monotonic()
    emu = run_sysgate(exe, ["storm", str(usec), "20000000"], timeout=60)
    took = time.monotonic() - t0
    assert emu.stdout == b"storm done: 1\n", emu
    assert took < 20, took


@pytest.mark.parametrize("variant", ALL)
def test_time_and_wait_calls_with_garbage(variant):
    """waitid/wait4 with any idtype, id and options; ppoll, pselect6,
    select, poll, nanosleep, clock_nanosleep at every extreme; alarm
    (UINT_MAX), setitimer and timer_settime with huge and negative values:
    the same answers as the native kernel, and no internal error."""
    assert_same(build("wait_garbage.c", variant))
