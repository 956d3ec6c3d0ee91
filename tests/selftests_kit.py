"""Build and run the Linux kernel's x86 and vDSO selftests (vendored in
tests/selftests/, see its README) natively, under sysgate and under qemu-user.

Shared by tests/test_selftests.py (CI) and bench/selftests.py (the table).
The targets and their flags follow tools/testing/selftests/x86/Makefile and
vDSO/Makefile, except that every program is linked statically (as sysgate's
other guests are), unless it needs dlopen of the vDSO, which a static glibc
cannot do."""
import concurrent.futures
import hashlib
import os
import shutil
import signal
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TREE = os.path.join(ROOT, "tests", "selftests")
X86 = os.path.join(TREE, "tools", "testing", "selftests", "x86")
VDSO = os.path.join(TREE, "tools", "testing", "selftests", "vDSO")
BUILD = os.path.join(ROOT, "build", "selftests")

# x86/Makefile's lists (Linux 6.1)
BOTHBITS = ["single_step_syscall", "sysret_ss_attrs", "syscall_nt", "test_mremap_vdso",
            "check_initial_reg_state", "sigreturn", "iopl", "ioperm", "test_vsyscall",
            "mov_ss_trap", "sigtrap_loop", "syscall_arg_fault", "fsgsbase_restore",
            "sigaltstack"]
ONLY32 = ["entry_from_vm86", "test_syscall_vdso", "unwind_vdso", "test_FCMOV", "test_FCOMI",
          "test_FISTTP", "vdso_restorer"]
ONLY64 = ["fsgsbase", "sysret_rip", "syscall_numbering", "corrupt_xstate_header", "amx"]
NEEDS32 = ["ldt_gdt", "ptrace_syscall"]          # built for both when -m32 works
EXTRA_SRC = {"sysret_ss_attrs_64": ["thunks.S"], "ptrace_syscall_32": ["raw_syscall_helper_32.S"],
             "test_syscall_vdso_32": ["thunks_32.S"]}
EXTRA_FLAGS = {"check_initial_reg_state": ["-Wl,-ereal_start"]}
# vDSO/Makefile's TEST_GEN_PROGS for x86 (built for both ABIs: parse_vdso
# reads either ELF class)
VDSO_TESTS = {"vdso_test_gettimeofday": ["parse_vdso.c"], "vdso_test_getcpu": ["parse_vdso.c"],
              "vdso_test_abi": ["parse_vdso.c"], "vdso_test_clock_getres": [],
              "vdso_standalone_test_x86": ["parse_vdso.c"], "vdso_test_correctness": []}
VDSO_FLAGS = {"vdso_standalone_test_x86": ["-nostdlib", "-fno-asynchronous-unwind-tables",
                                           "-fno-stack-protector"]}
VDSO_64_ONLY = {"vdso_standalone_test_x86"}     # its _start is x86-64 assembly
# These dlopen("linux-vdso.so.1"), which a static glibc cannot: linked
# dynamically, as the kernel's Makefile links everything.
DYNAMIC = {"vdso_test_correctness", "test_vsyscall"}


def targets():
    """name -> (bits, source dir, sources, extra flags), every test the Makefiles build."""
    out = {}
    for bits, names in ((32, BOTHBITS + ONLY32 + NEEDS32), (64, BOTHBITS + ONLY64 + NEEDS32)):
        for n in names:
            t = f"{n}_{bits}"
            out[t] = (bits, X86, [n + ".c"] + EXTRA_SRC.get(t, []), EXTRA_FLAGS.get(n, []), n)
    for n, extra in VDSO_TESTS.items():
        for bits in (64, 32):
            if bits == 32 and n in VDSO_64_ONLY:
                continue
            out[f"{n}_{bits}"] = (bits, VDSO, [n + ".c"] + extra, VDSO_FLAGS.get(n, []), n)
    return dict(sorted(out.items()))


def command(name, out):
    bits, d, srcs, flags, base = targets()[name]
    # vDSO/Makefile has no -O2: vdso_standalone_test_x86's _start calls C
    # with the stack as the kernel left it, which -O2's aligned SSE stores fault on
    opt = ["-O2"] if d == X86 else []
    cmd = ["gcc", f"-m{bits}", *opt, "-g0", "-std=gnu99", "-pthread", "-w",
           "-DCAN_BUILD_32", "-DCAN_BUILD_64"]
    cmd += [] if base in DYNAMIC else ["-static"]
    cmd += ["-no-pie"] + flags + [os.path.join(d, s) for s in srcs] + ["-o", out]
    if d == X86:
        cmd += ["-lrt", "-ldl"] + (["-lm"] if bits == 32 else [])
    elif base == "vdso_test_correctness":
        cmd += ["-ldl"]
    return cmd


def _key(name):
    bits, d, srcs, flags, base = targets()[name]
    h = hashlib.sha256(repr(command(name, "")).encode())
    for s in srcs + ["helpers.h", "../kselftest.h", "parse_vdso.h", "vdso_config.h"]:
        p = os.path.join(d, s)
        if os.path.exists(p):
            with open(p, "rb") as f:
                h.update(f.read())
    return h.hexdigest()[:12]


def build(name):
    """Path of the built test, or ('skip', reason) when the toolchain cannot build it."""
    os.makedirs(BUILD, exist_ok=True)
    out = os.path.join(BUILD, f"{name}-{_key(name)}")
    fail = out + ".failed"
    if os.path.exists(out):
        return out
    if os.path.exists(fail):
        with open(fail) as f:
            return ("skip", f.read())
    r = subprocess.run(command(name, out + ".tmp"), capture_output=True, text=True)
    if r.returncode:
        err = [l for l in r.stderr.splitlines() if "error" in l] or r.stderr.splitlines()[-1:]
        reason = f"does not build here: {' | '.join(err[:2])}"
        with open(fail, "w") as f:
            f.write(reason)
        return ("skip", reason)
    os.replace(out + ".tmp", out)
    return out


def build_all(names, jobs=None):
    jobs = jobs or max(2, os.cpu_count() or 2)
    with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
        return dict(zip(names, ex.map(build, names)))


RUNNERS = ("native", "intel", "amd", "qemu")



def kill_session(sid):
    """SIGKILL to every process of session sid (its runner started it with
    start_new_session), process groups a test made of its own included."""
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[3]) == sid:
                    os.kill(int(d), signal.SIGKILL)
            except (OSError, ValueError, IndexError):
                pass

def runner_cmd(runner, exe, bits):
    if runner == "native":
        return [exe]
    if runner == "qemu":
        q = "qemu-x86_64" if bits == 64 else "qemu-i386"
        return [q, exe] if shutil.which(q) else None
    return [sys.executable, "-m", "sysgate", "run", "--cpu", runner, exe]


class Outcome:
    def __init__(self, status, out, timed_out=False):
        self.status, self.out, self.timed_out = status, out, timed_out

    @property
    def passed(self):
        return self.status == 0 and not self.timed_out

    def why(self):
        """The line that says what failed: a [FAIL], an error, or how it ended."""
        lines = self.out.splitlines()
        for pat in ("[FAIL]", "FAIL", "internal error", "Traceback", "[SKIP]", "ERROR", "rror",
                    "not ok"):
            for l in lines:
                if pat in l:
                    return l.strip()[:200]
        if self.timed_out:
            return "timed out"
        if self.status < 0:
            return f"killed by {signal.Signals(-self.status).name}"
        tail = lines[-1].strip()[:160] if lines else ""
        return f"exit status {self.status}: {tail}"

    def summary(self):
        if self.passed:
            return "pass"
        if self.timed_out:
            return "timeout"
        if self.status < 0:
            return signal.Signals(-self.status).name
        return f"fail({self.status})"


def run(runner, exe, bits, timeout=60):
    cmd = runner_cmd(runner, exe, bits)
    if cmd is None:
        return None
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # the test's own children (forked tracers, threads' helpers) go too
        try:
            kill_session(p.pid)
        except ProcessLookupError:
            pass
        out, _ = p.communicate()
        return Outcome(-1, out.decode(errors="replace"), timed_out=True)
    return Outcome(p.returncode, out.decode(errors="replace"))
