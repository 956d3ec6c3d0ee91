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


IO_MODEL = b"""  inb 0x80: SIGSEGV code 128
ioperm 0x80 on: 0 
ioperm num 0: -1 Invalid argument
ioperm past 64k: -1 Invalid argument
ioperm off unheld: 0 
  inb 0x80: SIGSEGV code 128
  outb 0x80: ok
  outb 0x81: SIGSEGV
ioperm 0x80-0x83: 0 
  inb 0x80: 0xff inl 0xffffffff
  inb 0x82: SIGSEGV code 128
thread:
  outb 0x80: ok
  outb 0x84: SIGSEGV
child:
  outb 0x80: ok
child ioperm off: 0 
  outb 0x80: SIGSEGV
  outb 0x80: ok
iopl 4: -1 Invalid argument
iopl 3: 0 
  inb 0x1234: 0xff inl 0xffffffff
  cli: SIGSEGV
iopl 0: 0 
  outb 0x1234: SIGSEGV
  outb 0x80: ok
  outb 0x80: ok
  outb 0x81: ok
"""


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_io_ports(variant):
    """ioperm/iopl as the host's kernel has them (ENOSYS without
    CONFIG_X86_IOPL_IOPERM, as here): the same as the native run; and the
    model itself with the host's support assumed: per-thread bitmap (a new
    thread's a copy of its creator's), iopl 3
    for every port but CLI still #GP, fork and exec inheriting, a permitted
    port reading all ones (no device behind it)."""
    exe = build("io_ports.c", variant)
    assert_same(exe)
    if os.geteuid() != 0:
        pytest.skip("the model's run needs CAP_SYS_RAWIO")
    code = ("import sys, sysgate.kernel.ioport as io; io._HOST[:] = [True]; "
            "from sysgate.cli import main; sys.argv = ['sysgate', 'run', sys.argv[1]]; "
            "sys.exit(main())")
    p = subprocess.run([sys.executable, "-c", code, exe], capture_output=True,
                       env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)
    assert (p.returncode, p.stdout) == (0, IO_MODEL), p
