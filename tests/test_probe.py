"""sysgate probe against the real host."""
import json
import os
import subprocess
import sys

from conftest import ROOT


def test_probe_json_and_dump(tmp_path):
    dump = tmp_path / "vdso.so"
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.run([sys.executable, "-m", "sysgate", "probe", "--json", "-n", "50000",
                        "--dump", str(dump)], capture_output=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    names = {s["name"]: s["version"] for s in out["vdso"]["symbols"]}
    for sym in ("__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time", "__vdso_getcpu"):
        assert names[sym] == "LINUX_2.6"
    cost = out["ns_per_op"]
    assert cost["function call"] < cost["vDSO clock_gettime"] < cost["SYSCALL getpid"]
    assert cost["INT 0x80 getpid (64-bit code)"] > cost["SYSCALL getpid"]
    # The dump is the host's real vDSO: readelf sees the same symbols.
    r = subprocess.run(["readelf", "-W", "--dyn-syms", str(dump)], capture_output=True, text=True)
    assert r.returncode == 0 and "__vdso_clock_gettime@@LINUX_2.6" in r.stdout
    assert dump.read_bytes()[:4] == b"\x7fELF"


def test_bench_emulated_beside_native():
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.run([sys.executable, "-m", "sysgate", "bench", "--json", "-n", "3000"],
                       capture_output=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    assert set(rows) >= {"function call", "SYSCALL getpid", "INT 0x80 getpid (64-bit code)"}
    for name in ("function call", "SYSCALL getpid"):
        assert rows[name]["sysgate_ns"] > rows[name]["native_ns"] > 0, name
    # No such check for INT 0x80: on this hypervisor host a native INT 0x80
    # from 64-bit code costs about 2 us, no less than its emulation.
    assert rows["INT 0x80 getpid (64-bit code)"]["sysgate_ns"] > 0
    # Emulated, a crossing costs far more than a plain call.
    assert rows["SYSCALL getpid"]["sysgate_ns"] > 10 * rows["function call"]["sysgate_ns"]


def test_tiny_elf_runs_under_sysgate():
    sys.path.insert(0, ROOT)
    from sysgate.probe import emulated
    assert emulated.time_emulated(bytes.fromhex("b827000000" "0f05"), 10) > 0
