"""Signal delivery, frames and sigreturn, compared with the real kernel."""
import os
import re
import subprocess
import sys

import pytest

from conftest import ALL, ROOT, assert_same, build, run_sysgate


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


@pytest.mark.parametrize("cpu,gate", [("intel", "sysenter"), ("amd", "syscall")])
def test_restart_through_kernel_vsyscall_reenters_by_int80(cpu, gate):
    """A read made through __kernel_vsyscall's fast gate, interrupted by a
    SA_RESTART handler, restarts with IP backed up by 2: onto the int $0x80
    just before the vDSO's landing pad. Same output as native."""
    exe = build("signal_restart.c", "gcc32")
    assert_same(exe, opts=["--cpu", cpu])
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.run([sys.executable, "-m", "sysgate", "trace", "--cpu", cpu, exe],
                       capture_output=True, env=env, timeout=300)
    lines = p.stderr.decode().splitlines()
    i = next(i for i, l in enumerate(lines) if re.match(
        rf"\[{gate}/iret\] read\(3, 0x[0-9a-f]+, 1\) = \? ERESTARTSYS", l))
    assert lines[i + 1] == "--- SIGALRM {si_signo=SIGALRM, si_code=SI_KERNEL} ---"
    rest = lines[i + 2:i + 6]
    assert '[int80/iret] read(3, "x", 1) = 1' in rest        # the restart
    assert rest.index('[int80/iret] read(3, "x", 1) = 1') > \
        next(k for k, l in enumerate(rest) if "sigreturn()" in l)


@pytest.mark.parametrize("cpu", ["intel", "amd"])
@pytest.mark.parametrize("variant", ALL)
def test_timer_storm_during_crossings(variant, cpu):
    native, _ = assert_same(build("timer_stress.c", variant), opts=["--cpu", cpu])
    assert native.stdout == b"survived 1 ticks, every call answered: 1\n"


# --- processes: fork, wait, kill, stop/continue, exec -------------------------
@pytest.mark.parametrize("variant", ALL)
def test_processes(variant):
    """fork/vfork/execve, wait4 and waitid statuses (exit, signal, fault,
    stop, continue), signals between processes (a spinning child killed, a
    sigsuspend woken), SIGCHLD's siginfo, wait4 interrupted by a timer with
    and without SA_RESTART: the same output natively and under sysgate."""
    exe = build("proc_fork.c", variant)
    for cpu in ("intel", "amd"):
        assert_same(exe, opts=("--cpu", cpu))


@pytest.mark.parametrize("variant", ALL)
def test_children_reaped_when_sigchld_ignored(variant):
    """SIGCHLD ignored or SA_NOCLDWAIT: no zombies, wait ends in ECHILD once
    every child is gone; SA_NOCLDWAIT's handler still runs; back at SIG_DFL
    a child waits as a zombie; an ignored SIGCHLD survives execve."""
    native, _ = assert_same(build("proc_reap.c", variant))
    assert native.stdout.count(b": wait -1 No child process") == 4, native
    assert b"handler ran: 1\nSIG_DFL: zombie waited: 1 status 0x900\n" in native.stdout
    assert b"\nignored at start: 17\n" in native.stdout


def _started_with(blocked, ignored):
    import signal

    def prepare():
        signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        for s in ignored:
            signal.signal(s, signal.SIG_IGN)
    return prepare


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_ignored_and_blocked_signals_are_inherited(variant):
    """What the caller ignored and blocked (nohup, a shell's background job)
    the program finds so at start, under sysgate as natively."""
    import signal
    exe = build("proc_reap.c", variant)
    prep = _started_with({signal.SIGUSR2, signal.SIGTERM}, {signal.SIGHUP, signal.SIGINT})
    env = dict(os.environ, PYTHONPATH=ROOT)
    native = subprocess.run([exe, "start"], capture_output=True, preexec_fn=prep)
    emu = subprocess.run([sys.executable, "-m", "sysgate", "run", exe, "start"],
                         capture_output=True, preexec_fn=prep, env=env)
    assert native.stdout == b"ignored at start: 1 2\nblocked at start: 12 15\n", native
    assert emu.stdout == native.stdout, emu
    assert emu.returncode == native.returncode == 0


@pytest.mark.parametrize("variant", ALL)
def test_shared_memory_and_futexes_between_processes(variant):
    """MAP_SHARED anonymous and /dev/zero memory stays shared after fork;
    a process-shared mutex and semaphore, FUTEX_WAKE's count, a shared wait
    ended by a timeout or by another process's signal, a private wait that
    a shared wake does not reach."""
    native, _ = assert_same(build("proc_shared.c", variant))
    assert native.stdout.startswith(b"child's stores: shared 11, /dev/zero 12, private 0\n")
    assert b"wake: woke 1; the waiter got 0 and saw 1\n" in native.stdout
    assert native.stdout.endswith(b"private: woke 0, the private waiter got -110\n")


@pytest.mark.parametrize("variant", ALL)
def test_vfork_child_writes_reach_the_parent(variant):
    """CLONE_VM|CLONE_VFORK: the parent sees what the child stored before it
    exec'd or exited, which is how glibc's posix_spawn learns that the exec
    failed (an error, not a child exiting 127)."""
    native, _ = assert_same(build("proc_spawn.c", variant))
    assert native.stdout.startswith(b"after vfork: global 10 ")
    assert b"spawn: 0, exit 7\nspawn missing: No such file or directory\n" in native.stdout
    assert native.stdout.endswith(b"children left: 0\n")


@pytest.mark.parametrize("variant", ALL)
def test_process_groups_sessions_and_ids(variant):
    """setpgid/getpgid/setsid/getsid on the host's own groups and sessions,
    getgroups, getresuid/getresgid (and i386's 16-bit calls)."""
    native, _ = assert_same(build("proc_ids.c", variant))
    assert b"setsid as a group leader: -1 Operation not permitted\n" in native.stdout
    assert b"now its own: 1\n" in native.stdout


@pytest.mark.parametrize("variant", ALL)
def test_sigpipe(variant):
    """A write to a pipe with no reader: EPIPE and SIGPIPE (SI_USER from
    itself), ignored, caught, or killing (status 141, and like a shell
    sysgate says nothing of it)."""
    exe = build("signal_pipe.c", variant)
    native, _ = assert_same(exe)
    assert b"caught: write -1 Broken pipe, signal 13 code 0 from me 1\n" in native.stdout
    native, emu = assert_same(exe, ["die"])
    assert native.status == emu.status == 141 and emu.stderr == b""


@pytest.mark.parametrize("variant", ALL)
def test_futex_wait(variant):
    """futex waits: value check, relative and absolute timeouts, EINVAL and
    EFAULT, a timer signal interrupting a wait (restarted with SA_RESTART,
    EINTR without, EINTR with a timeout), FUTEX_WAKE_OP's store."""
    assert_same(build("futex_wait.c", variant))


@pytest.mark.parametrize("variant", ALL)
def test_resethand_keeps_flags_and_mask(variant):
    native, _ = assert_same(build("signal_resethand.c", variant))
    assert b"SA_SIGINFO 1" in native.stdout


def test_verbose_explains_a_childs_death():
    import os
    exe = build("proc_child_segv.c", "gcc64")
    assert_same(exe)
    emu = run_sysgate(exe, env=dict(os.environ, SYSGATE_VERBOSE="1"))
    assert emu.stdout == b"child died of 11\n"
    assert b": Segmentation fault (write fault at 0x8)\n" in emu.stderr, emu


@pytest.mark.parametrize("variant", ALL)
def test_pending_signals_all_delivered_in_order(variant):
    """Signals pending together at one way out each get their frame there
    (the last one's handler runs first); realtime signals queue, each
    instance with its own sigqueue value, from this process and from
    another (through the host, whose queue keeps the values)."""
    native, _ = assert_same(build("sig_pending_order.c", variant))
    out = native.stdout.decode()
    assert "three at once:\n  handler 34\n  handler 12\n  handler 10\n" in out or \
        "three at once:\n  handler 35\n  handler 12\n  handler 10\n" in out   # musl's SIGRTMIN
    assert out.count("value 10 code -1") == 1 and out.count("value 30 code -1") == 1
