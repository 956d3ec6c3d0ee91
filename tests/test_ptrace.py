"""Guest ptrace (sysgate/kernel/ptrace): a tracer and its tracees are
separate guest processes. A raw-ptrace guest (stops, statuses, options,
registers, memory, garbage) must print under sysgate what it prints
natively; Debian's strace run under sysgate must print what native strace
prints, modulo pids and addresses."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import ALL, ROOT, assert_same, build, run_native, run_sysgate

STRACE = shutil.which("strace")


@pytest.mark.parametrize("variant", ALL)
def test_ptrace_basic(variant):
    assert_same(build("ptrace_basic.c", variant))


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_ptrace_attach(variant):
    """ATTACH to a child blocked in a call and to one computing, from the
    parent and from a sibling (whose tracee's death only it hears of)."""
    assert_same(build("ptrace_attach.c", variant))


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_ptrace_seize(variant):
    """SEIZE, INTERRUPT, LISTEN, PTRACE_EVENT_STOP traps (group-stops, a
    seized child's start, seizing a stopped process) and the tracer's
    SIGCHLD (CLD_TRAPPED, CLD_STOPPED, CLD_CONTINUED), as natively."""
    assert_same(build("ptrace_seize.c", variant))


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_ptrace_sysemu_singlestep(variant):
    """PTRACE_SYSEMU_SINGLESTEP, SYSEMU and SINGLESTEP from a syscall-entry
    stop: the step traps and skipped calls at the same offsets as natively."""
    assert_same(build("ptrace_sysemu.c", variant))


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_ptrace_debug_registers(variant):
    """DR0-DR7 through PEEKUSER/POKEUSER (what reads back, EIO and EINVAL
    as Linux), and the hardware watchpoints and breakpoints they arm: each
    stops the tracee with SIGTRAP, TRAP_HWBKPT and its DR6 bit, natively."""
    assert_same(build("ptrace_hwbp.c", variant, extra=("-O1",)))


def _normal(text):
    """strace's lines with what differs between runs blanked: pids,
    addresses, the environment's size, random bytes."""
    out = []
    for line in text.splitlines():
        line = re.sub(r"^\d+ +", "", line)
        line = re.sub(r"0x[0-9a-f]+", "ADDR", line)
        line = re.sub(r"/\* \d+ vars \*/", "/* N vars */", line)
        line = re.sub(r"(si_pid|si_uid)=\d+", r"\1=N", line)
        line = re.sub(r"(si_utime|si_stime)=\d+", r"\1=N", line)
        line = re.sub(r'getrandom\("[^"]*"', 'getrandom("..."', line)
        line = re.sub(r"(set_tid_address|clone|fork|vfork|clone3|wait4|getpid|gettid)\((.*)\) += \d+$",
                      r"\1(\2) = N", line)
        line = re.sub(r"<\.\.\. (wait4|clone|fork|vfork) resumed>(.*)\) += \d+$",
                      r"<... \1 resumed>\2) = N", line)
        line = re.sub(r"\b(kill|wait4|waitpid)\(\d+,", r"\1(N,", line)
        line = re.sub(r"\btgkill\(\d+, \d+,", "tgkill(N, N,", line)
        line = re.sub(r" +=", " =", line)
        out.append(line)
    return out


def _per_process(prefix):
    """strace -ff's logs (one per process, so no line is split by another
    process's), in pid order: the tracee first, then its children."""
    logs = sorted(prefix.parent.glob(prefix.name + ".*"), key=lambda p: int(p.suffix[1:]))
    return [_normal(p.read_text()) for p in logs]


def _strace_ff(exe, tmp_path):
    """strace -ff of exe natively and under sysgate: same status and output;
    (native's per-process logs, sysgate's)."""
    (tmp_path / "n").mkdir()
    (tmp_path / "s").mkdir()
    native_log, emu_log = tmp_path / "n" / "log", tmp_path / "s" / "log"
    native = subprocess.run([STRACE, "-ff", "-qq", "-o", str(native_log), exe],
                            capture_output=True, timeout=120)
    emu = run_sysgate(STRACE, ["-ff", "-qq", "-o", str(emu_log), exe])
    assert emu.status == native.returncode
    assert emu.stdout == native.stdout
    return _per_process(native_log), _per_process(emu_log)


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_strace_follows_forks(variant, tmp_path):
    want, got = _strace_ff(build("ptrace_strace.c", variant), tmp_path)
    assert len(want) == 2 and any("exit_group(3)" in line for line in want[1])
    assert got == want


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_strace_job_control(variant, tmp_path):
    """strace -ff (PTRACE_SEIZE) of a child that stops itself: the group-stop
    (PTRACE_EVENT_STOP, then LISTEN), its parent's wait for it, the SIGCONT
    that ends it and the SIGCHLDs the parent gets, as native strace prints."""
    want, got = _strace_ff(build("ptrace_strace_stop.c", variant), tmp_path)
    assert any("--- stopped by SIGSTOP ---" in line for line in want[1])
    assert got == want


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
def test_strace_to_stderr_and_exit_status():
    """Without -f: strace's own output on stderr (the child's calls are not
    followed) and the program's exit status as strace's."""
    exe = build("ptrace_strace.c", "gcc64")
    native = subprocess.run([STRACE, "-qq", "-e", "trace=write", exe],
                            capture_output=True, timeout=120)
    emu = run_sysgate(STRACE, ["-qq", "-e", "trace=write", exe])
    assert emu.status == native.returncode
    assert _normal(emu.stderr.decode()) == _normal(native.stderr.decode())


GDB = shutil.which("gdb")


@pytest.mark.skipif(GDB is None, reason="gdb is not installed")
@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_gdb_batch_backtrace(variant):
    """gdb run under sysgate (it reads the tracee's memory through
    /proc/<pid>/task/<pid>/mem, its registers with ptrace) on a guest that
    faults: the same stop, backtrace, registers and fault address."""
    exe = build("ptrace_segv.c", variant, extra=("-g", "-O0"))
    args = ["-nx", "-batch", "-ex", "run", "-ex", "bt", "-ex", "info registers rip",
            "-ex", "print $_siginfo.si_signo", "-ex", "print $_siginfo._sifields._sigfault.si_addr",
            exe]
    native = subprocess.run([GDB, *args], capture_output=True, timeout=120)
    emu = run_sysgate(GDB, args)
    assert b"depth (p=0x10, n=0)" in native.stdout
    assert emu.stdout == native.stdout
    assert emu.status == native.returncode


@pytest.mark.skipif(GDB is None, reason="gdb is not installed")
@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_gdb_batch_breakpoints_and_steps(variant):
    """Breakpoints (int3 stops, the tracer moving rip back), next and stepi
    (PTRACE_SINGLESTEP), catch syscall (PTRACE_SYSCALL stops), as natively."""
    exe = build("ptrace_gdbstep.c", variant, extra=("-g", "-O0"))
    args = ["-nx", "-batch", "-ex", "break add", "-ex", "run", "-ex", "bt", "-ex", "next",
            "-ex", "next", "-ex", "stepi", "-ex", "print counter", "-ex", "delete",
            "-ex", "catch syscall write", "-ex", "continue", "-ex", "continue",
            "-ex", "continue", exe]
    native = subprocess.run([GDB, *args], capture_output=True, timeout=120)
    emu = run_sysgate(GDB, args)
    assert b"Catchpoint 2 (call to syscall write)" in native.stdout

    def normal(out):
        # The vDSO's place differs (sysgate's layout); its symbols must not.
        out = re.sub(rb"process \d+", b"process N", out)
        return re.sub(rb"0x[0-9a-f]+ in __kernel_vsyscall", b"ADDR in __kernel_vsyscall", out)
    assert normal(emu.stdout) == normal(native.stdout)


@pytest.mark.skipif(GDB is None, reason="gdb is not installed")
@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_gdb_batch_hardware_watchpoints(variant):
    """gdb's watch and rwatch (debug registers through POKEUSER): each
    store and load stops where it stops natively, with the old and new
    values."""
    exe = build("ptrace_gdbstep.c", variant, extra=("-g", "-O0"))
    args = ["-nx", "-batch", "-ex", "break main", "-ex", "run", "-ex", "watch counter",
            "-ex", "continue", "-ex", "continue", "-ex", "info watchpoints",
            "-ex", "rwatch counter", "-ex", "continue", "-ex", "delete", "-ex", "continue", exe]
    native = subprocess.run([GDB, *args], capture_output=True, timeout=120)
    emu = run_sysgate(GDB, args)
    assert b"Hardware read watchpoint 3: counter\n\nValue = 3" in native.stdout

    def normal(out):
        return re.sub(rb"process \d+", b"process N", out)
    assert normal(emu.stdout) == normal(native.stdout)


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_ptrace_detach_keeps_debug_registers(variant):
    """PTRACE_DETACH leaves DR0-DR7 set and armed, as Linux does: the next
    tracer reads them back, and a watched store by the untraced process is
    its own SIGTRAP."""
    assert_same(build("ptrace_detach_dr.c", variant))


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_ptrace_signals_from_a_third_process(variant):
    """SIGUSR1 and SIGSTOP sent to a tracee by a process that is not its
    tracer: signal-delivery-stops with the sender's pid (the SIGSTOP does
    not stop the tracee on the host), then the group-stop, as on Linux."""
    assert_same(build("ptrace_thirdparty.c", variant))


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_ptrace_threads_raw(variant):
    """A thread of a traced process is a tracee of its own: the leader's
    PTRACE_EVENT_CLONE names it, it starts at SIGSTOP, waitpid(-1, __WALL)
    reports its stops, PTRACE_EVENT_EXIT and end under its tid, GETREGS
    and CONT name it; ESRCH for tids that are not tracees,
    PTRACE_GET_THREAD_AREA's EIO, EINVAL and EFAULT, as Linux answers."""
    assert_same(build("ptrace_threads_raw.c", variant, extra=("-pthread",)))


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_ptrace_thread_stops_before_its_tracer_waits(variant):
    """A thread that stops (a signal-delivery-stop) before its tracer made
    any wait or ptrace call does not keep its process's other threads from
    running meanwhile: the tracer, waiting for one of them on a pipe before
    its first waitpid, hung for ever while the stopped thread held the CPU
    waiting for the tracer's socket."""
    exe = build("ptrace_threads_early_stop.c", variant, extra=("-pthread",))
    native = run_native(exe)
    emu = run_sysgate(exe, timeout=60)
    assert native.stdout == b"the other thread wrote x\nstopped by signal 10\nexited 0\n"
    assert (emu.status, emu.stdout, emu.stderr) == (native.status, native.stdout, native.stderr)


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_ptrace_interrupt_threads_blocked_in_calls(variant):
    """PTRACE_INTERRUPT of each thread of a seized process while both are
    blocked in calls (pthread_join's futex wait, a read of an empty pipe)
    traps each into PTRACE_EVENT_STOP at once, as natively. The tracer's
    note is taken in by whichever thread of the tracee looks first: one
    taken in by the other thread only woke the blocked one, which went
    back to its wait, and the tracer's waitpid hung."""
    exe = build("ptrace_threads_interrupt.c", variant, extra=("-pthread",))
    native = run_native(exe)
    emu = run_sysgate(exe, timeout=60)
    assert native.stdout.count(b"stopped, event stop 1") == 12
    assert (emu.status, emu.stdout, emu.stderr) == (native.status, native.stdout, native.stderr)


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_ptrace_listen_leaves_the_other_threads_answering(variant):
    """PTRACE_LISTEN on the main thread of a seized threaded process (its
    group-stop) while the other thread sits in its start trap: the tracer's
    requests to that thread are answered, as natively. The listening
    thread held the process's CPU, which the other needs to answer: the
    tracer's PTRACE_CONT of it hung."""
    exe = build("ptrace_threads_listen.c", variant, extra=("-pthread",))
    native = run_native(exe)
    emu = run_sysgate(exe, timeout=60)
    assert b"cont of the stopped thread: 0" in native.stdout
    assert (emu.status, emu.stdout, emu.stderr) == (native.status, native.stdout, native.stderr)


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_ptrace_leader_ends_first(variant):
    """A sibling that seized a threaded process whose main thread ends
    first (pthread_exit), the other ending the group with exit(3): its
    waitpid says exited 3, as natively. The leader's end was never told to
    a tracer that is not its parent (the process's end looked at the
    thread on the CPU last), who read the closed channel as SIGKILL."""
    native, _ = assert_same(build("ptrace_leader_exits_first.c", variant, extra=("-pthread",)))
    assert native.stdout == b"seize: 0\ntracer: exited 3\nparent: exited 3\n"


def _by_creation(prefix):
    """strace -ff's per-thread logs in the order the threads were made (tids
    wrap around pid_max, so their order is not the tids'): the one that
    starts with execve, then the tids each log's clone3 calls returned."""
    logs = {int(p.suffix[1:]): p.read_text() for p in prefix.parent.glob(prefix.name + ".*")}
    order = [tid for tid, text in logs.items() if text.startswith("execve(")]
    for tid in order:
        order += [int(x) for x in re.findall(r"parent_tid=\[(\d+)\]", logs[tid])]
    assert sorted(order) == sorted(logs)
    return [_normal(logs[tid]) for tid in order]


def _threads_normal(lines):
    # malloc's arena is aligned in a reservation whose place (and so the
    # trims, none to two) depends on where mmap put it.
    # Tids: in clone3's parent_tid, pthread_join's futex word, getppid.
    out = []
    for line in lines:
        line = re.sub(r"^munmap\(ADDR, \d+\)", "munmap(ADDR, N)", line)
        line = re.sub(r"parent_tid=\[\d+\]", "parent_tid=[N]", line)
        line = re.sub(r"(FUTEX_CLOCK_REALTIME), \d+,", r"\1, N,", line)
        if not line.startswith("munmap(ADDR, N) = 0"):
            out.append(re.sub(r"^getppid\(\) = \d+", "getppid() = N", line))
    return out


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_strace_threads_ff(variant, tmp_path):
    """strace -ff of a threaded guest: each thread is a tracee of its own
    (PTRACE_O_TRACECLONE attaches it, its stops come with its tid), one log
    per thread: made by the main thread, by another thread, ending with its
    exit, and the main thread's PTRACE_EVENT_EXIT when another thread's
    exit_group ends it inside pthread_join, as natively."""
    exe = build("ptrace_threads.c", variant, extra=("-pthread",))
    _strace_ff(exe, tmp_path)
    want, got = _by_creation(tmp_path / "n" / "log"), _by_creation(tmp_path / "s" / "log")
    assert len(want) == 4 and any(line.startswith("exit_group(3)") for line in want[2])
    got, want = [_threads_normal(log) for log in got], [_threads_normal(log) for log in want]
    assert got == want, _diff(want, got)


def _per_thread(text):
    """strace -f's interleaved lines as one list per thread (in the order
    the threads first appear), each call's <unfinished ...> and
    <... resumed> halves joined: the interleaving is the host's scheduling."""
    # Lines without a [pid N] are the main thread's (strace names the
    # thread once it traces more than one); set_tid_address returns its tid.
    leader = int(re.search(r"^set_tid_address\(.*\) += (\d+)$", text, re.M).group(1))
    threads = {}
    for line in text.splitlines():
        m = re.match(r"\[pid +(\d+)\] (.*)", line)
        pid, body = (int(m.group(1)), m.group(2)) if m else (leader, line)
        calls = threads.setdefault(pid, [])
        r = re.match(r"<\.\.\. \w+ resumed>(.*)", body)
        if r and calls and calls[-1].endswith(" <unfinished ...>"):
            calls[-1] = calls[-1][:-len(" <unfinished ...>")] + r.group(1)
        else:
            calls.append(body)
    return [_threads_normal(_normal("\n".join(c))) for c in threads.values()]


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_strace_threads_f(variant):
    """strace -f -qq of the threaded guest, its output read back per
    thread: the same calls, results and ends as native strace prints."""
    exe = build("ptrace_threads.c", variant, extra=("-pthread",))
    native = subprocess.run([STRACE, "-f", "-qq", exe], capture_output=True, timeout=120)
    emu = run_sysgate(STRACE, ["-f", "-qq", exe])
    assert emu.status == native.returncode == 3
    assert emu.stdout == native.stdout
    want, got = _per_thread(native.stderr.decode()), _per_thread(emu.stderr.decode())
    assert len(want) == 4
    assert got == want, _diff(want, got)


def _diff(want, got):
    import difflib
    return "\n".join(line for w, g in zip(want, got)
                     for line in difflib.unified_diff(w, g, "native", "sysgate", lineterm=""))


@pytest.mark.skipif(GDB is None, reason="gdb is not installed")
@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_gdb_batch_threads(variant):
    """gdb run under sysgate on a guest whose second thread faults while
    the first waits in pthread_join: gdb attaches the new thread (its clone
    event, its start), stops the first with tkill(SIGSTOP), and shows the
    same threads (names from /proc/<pid>/task/<tid>/comm), the faulting
    thread's backtrace and the waiting one's, as natively."""
    exe = build("ptrace_threads_segv.c", variant, extra=("-g", "-O0", "-pthread"))
    args = ["-nx", "-batch", "-ex", "run", "-ex", "info threads", "-ex", "bt",
            "-ex", "thread 1", "-ex", "bt 1", exe]
    native = subprocess.run([GDB, *args], capture_output=True, timeout=120)
    emu = run_sysgate(GDB, args)
    assert b"Thread 2 " in native.stdout and b"in poke (depth=2)" in native.stdout

    def normal(out):
        out = re.sub(rb"Thread 0x[0-9a-f]+ \(LWP \d+\)", b"Thread T", out)
        out = re.sub(rb"0x[0-9a-f]+ in __kernel_vsyscall", b"ADDR in __kernel_vsyscall", out)
        return re.sub(rb"[ \t]+", b" ", out)
    assert normal(emu.stdout) == normal(native.stdout)
    assert emu.status == native.returncode


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_strace_threads_execve_from_a_thread(variant, tmp_path):
    """strace -ff of a guest whose second thread calls execve while the
    main thread waits in pthread_join: the caller's PTRACE_EVENT_EXEC comes
    under the leader's tid with its old tid in GETEVENTMSG (strace prints
    "superseded by execve" and "pid changed"), and the new program's calls
    follow in the leader's log, as natively; the waiting main thread,
    ended by the execve, reports its PTRACE_EVENT_EXIT (its call "= ?")."""
    exe = build("ptrace_threads_exec.c", variant, extra=("-pthread",))
    _strace_ff(exe, tmp_path)
    want, got = _by_creation(tmp_path / "n" / "log"), _by_creation(tmp_path / "s" / "log")

    def normal(log):
        log = _threads_normal(log)
        return [re.sub(r"(superseded by execve in pid|pid changed to) \d+", r"\1 N", line)
                for line in log]
    got, want = [normal(log) for log in got], [normal(log) for log in want]
    assert any("superseded by execve in pid N" in line for line in want[0])
    assert any("<pid changed to N ...>" in line for line in want[1])
    assert got == want, _diff(want, got)
