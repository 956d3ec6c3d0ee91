"""sysgate diff: the program's system calls under the real kernel (strace)
against its calls under sysgate, compared call by call.

What is compared, after normalising what legitimately differs between two
runs (addresses, pids, times, buffer contents of reads from the clock):
the call name, its string arguments, and its result (errno name, or the
value when it is a small number that is not an address or an id)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

CALL_RE = re.compile(r"^(?:\[[\w/]+\] )?(\w+)\((.*)\)\s*=\s*(.+?)(?:\s+<[\d.]+>)?$")
STRING_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')
# Results that are ids or times, different in every run.
VOLATILE_RESULTS = {"getpid", "gettid", "getppid", "set_tid_address", "time", "getpgrp",
                    "getsid", "getpgid", "times"}
# Calls whose string arguments are data that differ between runs.
VOLATILE_STRINGS = {"getrandom", "read", "pread64", "readv", "clock_gettime", "uname"}


class Call:
    def __init__(self, name, args, result, line):
        self.name, self.args, self.result, self.line = name, args, result, line

    def key(self):
        strings = () if self.name in VOLATILE_STRINGS else tuple(STRING_RE.findall(self.args))
        return self.name, strings, self.normal_result()

    def normal_result(self):
        r = self.result
        m = re.match(r"-1 (E\w+)", r)
        if m:
            return m.group(1)
        if r == "?" or self.name in VOLATILE_RESULTS:
            return "*"
        r = r.split(" (")[0]          # strace's "= 0 (entry_number=12)" annotations
        try:
            v = int(r, 16) if r.startswith("0x") else int(r)
        except ValueError:
            return r
        if r.startswith("0x") and v >= 0x10000:
            return "ADDR"
        return v if v < 0x10000 else "N"


def parse(lines):
    calls = []
    for line in lines:
        line = line.rstrip("\n")
        if line.startswith("[vdso] "):
            continue            # calls answered in user mode, which strace cannot see
        m = CALL_RE.match(line)
        if m:
            calls.append(Call(m.group(1), m.group(2), m.group(3), line))
    return calls


def native_calls(program, args, strace="strace"):
    """The calls of a native run, from strace (without the initial execve)."""
    if shutil.which(strace) is None:
        raise RuntimeError("strace is not installed")
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as out:
        p = subprocess.run([strace, "-qq", "-s", "64", "-o", out.name, program, *args],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           stdin=subprocess.DEVNULL)
        calls = parse(out.read().splitlines())
    if calls and calls[0].name == "execve":
        calls = calls[1:]
    return calls, p.returncode


def sysgate_calls(program, args, run_opts=()):
    """The calls of the same program under sysgate (a separate process, so
    the guest's output does not mix with ours)."""
    with tempfile.NamedTemporaryFile("r", suffix=".trace") as out:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        # sysgate finds itself by sys.path, not PYTHONPATH: the guest gets
        # the environment strace's run got, untouched.
        boot = (f"import sys; sys.path.insert(0, {root!r}); from sysgate.cli import main; "
                "sys.exit(main(sys.argv[1:]))")
        p = subprocess.run([sys.executable, "-c", boot, "trace", "-s", "64", "-o", out.name,
                            *run_opts, program, *args], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        return parse(out.read().splitlines()), p.returncode


def first_divergence(native, emulated):
    """Index of the first call that differs, or None when they agree."""
    for i, (a, b) in enumerate(zip(native, emulated)):
        if a.key() != b.key():
            return i
    if len(native) != len(emulated):
        return min(len(native), len(emulated))
    return None


def report(native, emulated, out):
    i = first_divergence(native, emulated)
    if i is None:
        out.write(f"agree: {len(native)} system calls, same names, strings and results\n")
        return 0
    out.write(f"first divergence at call {i + 1}:\n")
    for j in range(max(0, i - 2), i):
        out.write(f"    {native[j].line}\n")
    out.write(f"  native:  {native[i].line if i < len(native) else '(no more calls)'}\n")
    out.write(f"  sysgate: {emulated[i].line if i < len(emulated) else '(no more calls)'}\n")
    return 1
