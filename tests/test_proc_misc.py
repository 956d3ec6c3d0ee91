"""times, priorities, personality, the utime family, readahead and
sync_file_range, natively and under sysgate; a process outside the session
is not the guest's to look at or change."""
import os

import pytest

from conftest import ALL, assert_same, build, run_sysgate


@pytest.mark.parametrize("variant", ALL)
def test_misc_process_and_file_calls(variant):
    assert_same(build("proc_misc.c", variant))


def test_priority_of_a_host_process_is_out_of_reach():
    outsider = os.getppid()      # pytest's parent: never a guest of the run
    emu = run_sysgate(build("proc_misc.c", "gcc64"), [str(outsider)])
    assert emu.status == 0
    assert emu.stdout == (b"getpriority(outside) = -1 errno 3\n"
                          b"setpriority(outside) = -1 errno 3\n"
                          b"ioprio_get(outside) = -1 errno 3\n")


@pytest.mark.parametrize("variant", ALL)
def test_pidfds(variant):
    assert_same(build("proc_pidfd.c", variant))


def test_pidfd_of_a_host_process_is_refused():
    emu = run_sysgate(build("proc_pidfd.c", "gcc64"), ["outside"])
    assert emu.stdout == b"pidfd_open(parent outside the session) = -1 errno 3\n"


@pytest.mark.parametrize("variant", ALL)
def test_proc_self_mem_through_every_transfer_call(variant):
    """/proc/self/mem written and read back through write, pwrite, writev,
    pwritev and pwritev2 (and their read forms), each its own piece."""
    native, _ = assert_same(build("proc_mem_vec.c", variant))
    assert b"pwritev2: 9, target 'pwritev2'" in native.stdout
    assert b"read back 4: 9, 'pwritev2'" in native.stdout


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_child_state_is_the_guests(variant):
    """A parent polling its child's /proc/<pid>/stat until S (LTP's
    TST_PROCESS_STATE_WAIT) sees S only once the child is in its blocking
    read, not while sysgate itself waits for something of its own after
    the fork (kernel.procstate); R and S as natively, in stat and status."""
    native, _ = assert_same(build("proc_state.c", variant))
    assert native.stdout.count(b"the child was in its read; status says S\n") == 3


@pytest.mark.parametrize("variant", ["gcc64", "gcc32", "musl64"])
def test_cmdline_after_each_exec(variant):
    """A child's cmdline and comm as its parent reads them before the
    child's exec (the entry the parent wrote as the fork returned, with
    the child's start time taken from the clock around the fork), after
    each of its execs, a shorter command line after a longer one (the
    entry is rewritten in place, kernel.fs.procspool), and after the child
    forked; then the same of a second child, made after the first was
    reaped: as natively."""
    native, _ = assert_same(build("exec_cmdline.c", variant))
    lines = native.stdout.split(b"\n")
    assert lines[0].startswith(b"child before its exec cmdline") and b"|child|" not in lines[0]
    assert native.stdout.count(b" comm exec_cmdline-") == 6, native.stdout
    assert native.stdout.count(b"|child|") == 4, native.stdout
    assert b"a-long-argument" in lines[1] and b"a-long-argument" not in lines[2]
    assert lines[-3].startswith(b"second child after its exec") and b"|4| comm " in lines[-3]
