"""The last mile of issue #14: the core flag of a killed child, execve
under signals, LDT segments, I/O ports, the vsyscall page and the LTP
cases where sysgate once answered differently from Linux."""
import os
import subprocess
import sys

import pytest

from conftest import ALL, ROOT, assert_same, build


@pytest.mark.parametrize("variant", ALL)
def test_wait_coredump(variant, tmp_path):
    """WCOREDUMP and CLD_DUMPED exactly when Linux dumps: the child's
    RLIMIT_CORE (0 or its hard limit), dumpable flag and cwd (/proc: no file
    can be made there) and the host's core_pattern decide, natively and
    under sysgate alike, run in the same fresh directory."""
    exe = build("wait_coredump.c", variant)
    native, emu = assert_same(exe, cwd=tmp_path)
    assert b"mode 5: waitid code 2 status 15" in native.stdout
    assert not os.path.exists(tmp_path / "core")


@pytest.mark.parametrize("variant", ALL)
def test_exec_under_signals(variant):
    """A SIGCHLD (or SIGSTOP) arriving while execve loads the new program
    once stopped the boot stub on the kernel stack, and the new program died
    of SIGSEGV (bash -c '(true) & exec /bin/echo ok', one run in two here).
    200 rounds on gcc64, 40 on the others; then stop, continue, SIGTERM."""
    exe = build("exec_signals.c", variant)
    native, emu = assert_same(exe, ["200" if variant == "gcc64" else "40"])
    assert native.stdout == b"0 bad\n"


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_ldt_segments(variant):
    """modify_ldt's answers and LDT segments used from user code: loaded into
    the segment registers and read through, LSL/LAR, #NP (SIGBUS) and #GP,
    the kernel's refresh of ES when its entry is cleared, far calls into
    32- and 16-bit LDT code (i386)."""
    exe = build("ldt_segments.c", variant)
    native, emu = assert_same(exe)
    assert b"lar: 1" in native.stdout


@pytest.mark.parametrize("variant", ALL)
def test_refusals(variant, tmp_path):
    """LTP madvise02/mprotect01's arguments (madvise on locked, file and
    shared mappings; PROT_WRITE on /dev/zero shared from a read-only fd) and
    mount/umount2's order of checks without CAP_SYS_ADMIN: EFAULT and the
    path's errors before EINVAL and EPERM."""
    exe = build("lm_refusals.c", variant)
    native, emu = assert_same(exe, cwd=tmp_path)
    assert b"mount bad data               -1 Bad address" in native.stdout


@pytest.mark.parametrize("variant", ALL)
def test_process_vm(variant):
    """process_vm_readv/writev on the caller's own memory (test_vsyscall_64
    reads the vsyscall page with it: EFAULT)."""
    exe = build("process_vm.c", variant)
    native, emu = assert_same(exe)
    assert b"partial              100" in native.stdout


@pytest.mark.parametrize("variant", ALL)
def test_getcpu_affinity(variant):
    """getcpu (system call, vDSO, rseq's cpu_id for glibc's sched_getcpu)
    answers the CPU sched_setaffinity put the thread on; /proc/self/maps
    lists the vsyscall page of a 64-bit process (test_vsyscall_64 reads it)."""
    exe = build("getcpu_affinity.c", variant)
    native, emu = assert_same(exe)
    assert b"on 0: syscall 1" in native.stdout
