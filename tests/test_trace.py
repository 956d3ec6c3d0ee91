"""sysgate trace: parse the strace-style output of real guests."""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, build

sys.path.insert(0, ROOT)
from sysgate.trace.strace import LINE_RE  # noqa: E402

LINE = re.compile(LINE_RE)


def trace(exe, *opts):
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.run([sys.executable, "-m", "sysgate", "trace", *opts, exe],
                       capture_output=True, env=env, timeout=300)
    return p


def parsed(stderr):
    return [LINE.match(l).groupdict() for l in stderr.decode().splitlines() if LINE.match(l)]


@pytest.mark.parametrize("variant,gate,path", [("gcc64", "syscall", "sysretq"),
                                               ("musl64", "syscall", "sysretq"),
                                               ("gcc32", "sysenter", "sysretl")])
def test_trace_lines(variant, gate, path):
    p = trace(build("trace_calls.c", variant))
    assert p.returncode == 7
    assert p.stdout == b"traced line\n"
    calls = parsed(p.stderr)
    byname = {}
    for c in calls:
        byname.setdefault(c["name"], []).append(c)
    writes = [c for c in byname["write"] if c["args"].startswith("1,")]
    assert writes[0]["args"] == '1, "traced line\\n", 12' and writes[0]["result"] == "12"
    opens = byname.get("openat", []) + byname.get("open", [])
    missing = [c for c in opens if "/definitely/not/here" in c["args"]]
    assert missing and missing[0]["result"] == "-1 ENOENT (No such file or directory)"
    assert "O_RDONLY" in missing[0]["args"]
    devnull = [c for c in opens if "/dev/null" in c["args"]]
    assert devnull[0]["args"].split(", ")[-2].startswith("O_WRONLY|")
    assert "O_CLOEXEC" in devnull[0]["args"]
    assert int(devnull[0]["result"]) >= 3
    last = calls.pop()
    assert last["name"] == "exit_group" and last["args"] == "7" and last["result"] == "?"
    for c in writes + opens:
        assert (c["gate"], c["path"]) == (gate, path), c
    # glibc i386 makes its first calls (before TLS holds AT_SYSINFO) with a
    # plain int $0x80; everything else goes through the expected gate.
    early = {("int80", "iret")} if variant == "gcc32" else set()
    assert all((c["gate"], c["path"]) in {(gate, path)} | early for c in calls)
    assert p.stderr.decode().rstrip().endswith("+++ exited with 7 +++")


def test_trace_filter_and_output_file(tmp_path):
    out = tmp_path / "trace.txt"
    p = trace(build("trace_calls.c", "gcc64"), "-e", "trace=%file", "-o", str(out))
    assert p.returncode == 7 and p.stderr == b""
    names = {c["name"] for c in parsed(out.read_bytes())}
    assert names and names <= {"openat", "open", "newfstatat", "readlink", "statx"}
    assert "write" not in names


def test_trace_json():
    p = trace(build("trace_calls.c", "gcc64"), "--json")
    events = [json.loads(l) for l in p.stderr.decode().splitlines() if l.startswith("{")]
    kinds = {e["kind"] for e in events}
    assert {"syscall", "exit"} <= kinds
    w = next(e for e in events if e.get("name") == "write" and e["args"][0] == 1)
    assert w["gate"] == "syscall" and w["exit_path"] == "sysretq" and w["result"] == 12
    assert events[-1] == {"kind": "exit", "status": ["exit", 7]}


def test_trace_summary():
    p = trace(build("trace_calls.c", "gcc64"), "-c")
    text = p.stderr.decode()
    row = next(l for l in text.splitlines() if re.search(r"\bopenat\b", l))
    assert "syscall/sysretq:2" in row
    assert re.search(r"\s1\s+openat", row), row       # one error
    assert "total" in text
    # The cost model: native per-gate costs from the probe, applied to the run.
    assert "crossing costs on this CPU" in text
    m = re.search(r"this run: (\d+) crossings", text)
    assert m and int(m.group(1)) == sum(
        int(x) for x in re.findall(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s", text, re.M)[:-1])


def test_structures_summarised():
    # basic.c prints with stdio: glibc first fstats stdout, here a pipe.
    p = trace(build("basic.c", "gcc64"))
    text = p.stderr.decode()
    assert re.search(r"newfstatat\(1, \"\", \{st_mode=S_IFIFO\|0600, st_size=\d+, \.\.\.\}, "
                     r"AT_EMPTY_PATH\) = 0", text), text
    sig = trace(build("signal_basic.c", "gcc64")).stderr.decode()
    assert re.search(r"rt_sigaction\(SIGUSR1, \{sa_handler=0x[0-9a-f]+, sa_mask=\[\], "
                     r"sa_flags=SA_SIGINFO\|SA_RESTORER, sa_restorer=0x[0-9a-f]+\}, NULL, 8\) = 0",
                     sig), sig
    assert re.search(r"rt_sigprocmask\(SIG_BLOCK, \[USR1\], \[\], 8\) = 0", sig), sig


def test_trace_follows_children_with_f():
    """Without -f only the first process is traced; with -f each line of a
    child starts with [pid N], as strace's, and the child's execve is seen."""
    if not os.path.exists("/bin/busybox"):
        pytest.fail("busybox-static is not installed (see .ci/run)")
    script = "/bin/busybox true; exit 2"
    plain = subprocess.run([sys.executable, "-m", "sysgate", "trace", "-e",
                            "trace=execve,wait4,exit_group", "/bin/busybox", "sh", "-c", script],
                           capture_output=True, env=dict(os.environ, PYTHONPATH=ROOT),
                           timeout=300)
    follow = subprocess.run([sys.executable, "-m", "sysgate", "trace", "-f", "-e",
                             "trace=execve,wait4,exit_group", "/bin/busybox", "sh", "-c", script],
                            capture_output=True, env=dict(os.environ, PYTHONPATH=ROOT),
                            timeout=300)
    assert plain.returncode == follow.returncode == 2
    lines = parsed(plain.stderr)
    assert [l["pid"] for l in lines] == [None] * len(lines)
    assert [l["name"] for l in lines if l["name"] != "wait4"] == ["exit_group"]
    assert any(l["name"] == "wait4" and int(l["result"]) > 0 for l in lines)
    flines = parsed(follow.stderr)
    child = [l for l in flines if l["pid"]]
    assert child and child[0]["name"] == "execve" and child[0]["result"] == "0"
    assert '"/bin/busybox"' in child[0]["args"]
    assert len({l["pid"] for l in child}) == 1
    assert b"+++ exited with 2 +++" in follow.stderr


def test_summary_counts_every_process_with_f():
    """-c -f: the table counts the children's calls too (each child is a host
    process of its own, which leaves its tallies for the first to add)."""
    if not os.path.exists("/bin/busybox"):
        pytest.fail("busybox-static is not installed (see .ci/run)")
    script = "/bin/busybox true; /bin/busybox true; exit 3"

    def summary(*flags):
        r = subprocess.run([sys.executable, "-m", "sysgate", "trace", "-c", *flags,
                            "/bin/busybox", "sh", "-c", script], capture_output=True,
                           env=dict(os.environ, PYTHONPATH=ROOT), timeout=300)
        assert r.returncode == 3, r
        counts = {}
        for line in r.stderr.decode().splitlines():
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s", line)
            if m:
                counts[m.group(2)] = int(m.group(1))
        crossings = int(re.search(r"this run: (\d+) crossings", r.stderr.decode()).group(1))
        return counts, crossings
    plain, plain_n = summary()
    follow, follow_n = summary("-f")
    # The shell alone: one exit_group and no execve; with -f the two
    # children's execve and exit_group count too.
    assert plain["exit_group"] == 1 and "execve" not in plain, plain
    assert follow["exit_group"] == 3 and follow["execve"] == 2, follow
    assert follow_n > plain_n
    # The shell's own calls before a fork are not counted again for the child.
    assert follow["getppid"] == plain["getppid"] == 1, (plain, follow)
