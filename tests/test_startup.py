"""Start-up: the handler index (kernel/lazyreg.py) that lets a start import
only the handler modules its program calls, whatever state the index is
in, and the command line's parser, built for the named command only."""
import glob
import json
import os
import subprocess
import sys

from conftest import ROOT, build, run_native, run_sysgate


def _env(cache):
    return dict(os.environ, XDG_CACHE_HOME=str(cache), PYTHONPATH=ROOT)


def _index(cache):
    files = glob.glob(os.path.join(str(cache), "sysgate", "handlers-*"))
    assert len(files) == 1, files
    return files[0]


def _read(cache):
    """The index's path and its (format, sources, calls)."""
    index = _index(cache)
    with open(index) as f:
        return index, json.load(f)


def _standing_in(cache):
    """How many calls the next start registers as stand-ins."""
    code = ("import sysgate.machine\nfrom sysgate.kernel import registry\n"
            "print(sum(c.lazy for c in registry.HANDLERS.values()))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=_env(cache), cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    return int(p.stdout)


def _same_as_native(tmp_path, cache, name):
    """fs_xattr (calls whose module a plain start does not import) natively
    and under sysgate, each in a fresh directory of its own."""
    exe = build("fs_xattr.c", "gcc64")
    dirs = [tmp_path / f"{name}-native", tmp_path / f"{name}-sysgate"]
    for d in dirs:
        d.mkdir()
    native = run_native(exe, cwd=dirs[0])
    emu = run_sysgate(exe, cwd=dirs[1], env=_env(cache))
    assert (emu.status, emu.stdout, emu.stderr) == (native.status, native.stdout, native.stderr)


def test_first_start_writes_the_index_and_later_ones_stand_in(tmp_path):
    cache = tmp_path / "cache"
    assert _standing_in(cache) == 0          # no index: every module imported
    index, (fmt, files, calls) = _read(cache)
    assert any(path.endswith(os.path.join("kernel", "fs", "xattr.py")) for path, _, _ in files)
    assert (None, "getxattr") in {(a, n) for a, n, *_ in calls}
    assert _standing_in(cache) > 100
    _same_as_native(tmp_path, cache, "lazy")


def test_an_index_naming_the_wrong_module_or_none_still_serves_the_call(tmp_path):
    cache = tmp_path / "cache"
    _standing_in(cache)                 # no index yet: this start writes it
    index, (fmt, files, calls) = _read(cache)
    wrong = []
    for abi, name, module, label, kinds in calls:
        if name in ("getxattr", "setxattr"):
            module = "sysgate.kernel.ldt"            # imports, registers no xattr call
        elif name in ("listxattr", "removexattr"):
            module = "sysgate.kernel.no_such_module"
        wrong.append((abi, name, module, label, kinds))
    with open(index, "w") as f:
        json.dump((fmt, files, wrong), f)
    assert _standing_in(cache) > 100
    _same_as_native(tmp_path, cache, "wrong")


def test_a_changed_source_or_a_broken_index_means_a_full_import(tmp_path):
    cache = tmp_path / "cache"
    _standing_in(cache)                 # no index yet: this start writes it
    index, (fmt, files, calls) = _read(cache)
    path, mtime, size = files[0]
    files[0] = (path, mtime + 1, size)                # as if edited since
    with open(index, "w") as f:
        json.dump((fmt, files, calls), f)
    assert _standing_in(cache) == 0
    assert _standing_in(cache) > 100                  # written anew
    for junk in (b"", b"\x00garbage", json.dumps((fmt, "files", calls)).encode(),
                 json.dumps((fmt, files, [[1, 2, 3, 4, []]])).encode(), b"[" * 50000):
        with open(index, "wb") as f:
            f.write(junk)
        assert _standing_in(cache) == 0
    _same_as_native(tmp_path, cache, "rebuilt")


def test_an_unwritable_cache_still_runs(tmp_path):
    cache = tmp_path / "cache"
    cache.write_text("not a directory")
    _same_as_native(tmp_path, cache, "nocache")


def test_help_of_each_command_is_built_whole():
    def out(*args):
        p = subprocess.run([sys.executable, "-m", "sysgate", *args], capture_output=True,
                           text=True, env=dict(os.environ, PYTHONPATH=ROOT), timeout=60)
        assert p.returncode == 0, p.stderr
        return p.stdout
    top = out("--help")
    for command in ("run", "trace", "diff", "bench", "syscalls", "probe"):
        assert command in top
    assert "--memory-limit" in out("run", "--help") and "--net" in out("diff", "--help")
    assert "-e trace=SET" in out("trace", "--help") and "--memory-limit" in out("trace", "--help")
    assert "--plot" in out("bench", "--help") and "--markdown" in out("syscalls", "--help")
    assert "--dump" in out("probe", "--help")


def test_run_command_lines_parse_as_argparse_parses_them():
    """cli._quick_run, where it answers, answers what argparse does."""
    import itertools
    sys.path.insert(0, ROOT)
    from sysgate import cli
    opts = [[], ["--cpu", "amd"], ["--cpu=i486"], ["--cpu", "arm"], ["--cp", "amd"],
            ["--root", "/r"], ["--root=/x y"], ["--root", ""], ["--root", "-x"],
            ["--seed", "7"], ["--seed", "+5"], ["--seed", " 3"], ["--seed", "x"], ["--seed=-1"],
            ["--no-vdso"], ["--no-vdso=1"], ["--memory-limit", "1G"], ["--memory-limit", "0"],
            ["--memory-limit=512MiB"], ["--net", "none"], ["--net", "lan"], ["-g", "0"],
            ["-g5"], ["-g=5"], ["-g", "x"], ["-h"], ["--"], ["--cpu"], ["-x"]]
    tails = [[], ["prog"], ["prog", "a", "-b", "--c"], ["--", "prog"], ["--", "-prog", "x"],
             ["prog", "--", "a"], ["prog", "a", "--"], ["--", "--", "p"], ["", "x"]]
    answered = 0
    for a, b in itertools.product(opts, opts):
        for tail in tails:
            argv = ["run", *a, *b, *tail]
            quick = cli._quick_run(argv)
            if quick is None:
                continue
            answered += 1
            assert vars(quick) == vars(cli._parser(argv).parse_args(argv)), argv
    assert answered > 1000


def test_exec_after_fork_across_abis_and_models():
    """A child's exec takes the CPU and tables its parent made before the
    fork (program.prepare_exec): a chain of fork+exec alternating x86-64
    and i386 programs prints what it does natively, on each CPU model."""
    a, b = build("exec_chain.c", "gcc64"), build("exec_chain.c", "gcc32")
    for opts in ((), ("--cpu", "amd"), ("--cpu", "i486")):
        native = run_native(a, ["5", a, b])
        emu = run_sysgate(a, ["5", a, b], opts)
        assert (emu.status, emu.stdout, emu.stderr) == \
            (native.status, native.stdout, native.stderr), opts
        assert native.stdout.count(b"level") == 11


def test_unicorn_loads_its_own_library_without_its_loaders_imports():
    """cpu/ucload.py: the library Unicorn loads is the one in its package,
    none of the loader's stand-ins outlives the import, and the modules
    they stand for import as usual afterwards."""
    code = r"""
import sys, os, types
import sysgate.machine
from sysgate.cpu.ucload import _STAND_INS
for name in _STAND_INS:
    assert not isinstance(sys.modules.get(name), types.SimpleNamespace), name
print("inspect" in sys.modules)
import unicorn, pathlib, inspect, importlib.resources
lib = os.path.join(os.path.dirname(unicorn.__file__), "lib", "libunicorn.so.2")
maps = open("/proc/self/maps").read()
print(os.path.realpath(lib) in maps, pathlib.Path("/a") / "b",
      os.path.basename(inspect.getfile(pathlib.Path.__truediv__)))
"""
    p = subprocess.run([sys.executable, "-S", "-c", f"import sys; sys.path[:0] = {sys.path!r}\n"
                        + code], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=ROOT), cwd=ROOT, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n")[:2] == ["False", "True /a/b pathlib.py"], p.stdout


def test_unicorn_imports_as_it_is_when_the_stand_ins_fall_short():
    code = r"""
import sys, types
from sysgate.cpu import ucload
ucload._STAND_INS["inspect"] = {}          # no getfile: the loader fails with it
ucload.import_unicorn()
import unicorn
assert not isinstance(sys.modules.get("inspect"), types.SimpleNamespace)
print(unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_64) is not None, "inspect" in sys.modules)
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=ROOT), cwd=ROOT, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["True", "True"], p.stdout


def test_cpuid_answers_are_cached_and_checked(tmp_path):
    """cpu/cpuid.py: the first start asks Unicorn's CPUID on a scratch CPU
    and writes the answers; later starts make no scratch CPU and get the
    same answers; a broken or hostile file is not believed."""
    cache = tmp_path / "cache"
    code = r"""
import json, sys
import sysgate.machine
from sysgate.cpu import cpuid
leaves = [(0, 0), (1, 0), (7, 0), (0x80000001, 0)]
got = cpuid.native_cpuid_table(leaves)
scratch = bool(cpuid._CPUID_UC)
print(json.dumps([scratch, sorted([list(k) + list(v) for k, v in got.items()]),
                  sorted([list(k) + list(v) for k, v in cpuid._ask(leaves).items()])]))
"""

    def start():
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=_env(cache), cwd=ROOT, timeout=60)
        assert p.returncode == 0, p.stderr
        scratch, got, asked = json.loads(p.stdout)
        assert got == asked
        return scratch
    assert start() is True
    files = glob.glob(str(cache / "sysgate" / "cpuid-*.txt"))
    assert len(files) == 1
    assert start() is False
    for junk in ('0 0 1 2 3 -1\n', '0 0 1 2 3 100000000\n', '0 0 x 2 3 4\n', '0 0 1 2 3\n',
                 '0 0 1 2 3 4 5\n', '\n', 'garbage\n', '0 ' * 100000 + '\n', '\0\xff\n'):
        with open(files[0], "w") as f:
            f.write(junk)
        assert start() is True, junk


def test_the_sysgate_command_runs_as_python_m_sysgate():
    """The sysgate command (bin/sysgate, which pip installs with its
    shebang pointing at the installing interpreter) runs the program as
    `python3 -m sysgate` does: output, exit status, a refused program's
    status, and a parse error's."""
    with open(os.path.join(ROOT, "bin", "sysgate")) as f:
        command = f.read()
    assert command.startswith("#!/usr/bin/env python3\n"), command[:40]
    assert "import re" not in command       # the reason it is not an entry point
    # A global whose __del__ would print at the interpreter's tear-down,
    # which the command skips (cli.end), as python3 -m sysgate does.
    script = ("class Torn:\n    def __del__(self):\n        print('torn down')\n"
              "torn = Torn()\n" + command)
    exe = build("basic.c", "gcc64")
    env = dict(os.environ, PYTHONPATH=ROOT)
    for args in ([exe], ["/nonexistent"], ["--cpu", "arm", exe], ["--bogus"]):
        got = subprocess.run([sys.executable, "-c", script, "run", *args], capture_output=True,
                             env=env, timeout=120)
        want = subprocess.run([sys.executable, "-m", "sysgate", "run", *args],
                              capture_output=True, env=env, timeout=120)
        out = got.stdout.replace(b"torn down\n", b"")
        assert (got.returncode, out) == (want.returncode, want.stdout), args
        if args[0] != "--bogus" and args[0] != "--cpu":      # argparse's exit tears down
            assert out == got.stdout, args
        # (argparse's usage line names the program as its argv[0] shows it)
        assert got.stderr.splitlines()[-1:] == want.stderr.splitlines()[-1:], args


def test_the_session_spool_is_removed_at_its_end(tmp_path):
    """procspool: the session's directory (its guests' /proc entries, a
    tracer's socket) is gone when the session's first process ends, and a
    run without XDG_RUNTIME_DIR uses the temporary directory tempfile
    would choose ($TMPDIR first)."""
    a, b = build("exec_chain.c", "gcc64"), build("exec_chain.c", "gcc32")
    for var in ("XDG_RUNTIME_DIR", "TMPDIR"):
        run_dir = tmp_path / var
        run_dir.mkdir()
        env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
        env[var] = str(run_dir)
        emu = run_sysgate(a, ["3", a, b], env=env)
        assert emu.status == 0 and emu.stdout.count(b"level") == 7, emu
        spool = run_dir / f"sysgate-{os.getuid()}"
        assert spool.is_dir() and list(spool.iterdir()) == [], var
        if var == "TMPDIR":
            # Nor does anything else stay there: the private directories
            # behind /proc's links and directories (kernel.fs.prochost).
            assert [p.name for p in run_dir.iterdir()] == [spool.name], var


def test_the_cache_keeps_the_newest_indexes_only(tmp_path):
    """Each checkout and Python writes an index of its own: the cache keeps
    the KEEP newest (this start's among them), not one more per checkout
    for ever."""
    cache = tmp_path / "cache"
    d = cache / "sysgate"
    d.mkdir(parents=True)
    for i in range(12):
        old = d / f"handlers-old{i:02d}"
        old.write_text("[]")
        os.utime(old, (1_000_000 + i, 1_000_000 + i))
    (d / "cpuid-kept.txt").write_text("{}")
    assert _standing_in(cache) == 0          # no index of its own yet: written now
    left = sorted(p.name for p in d.iterdir())
    handlers = [n for n in left if n.startswith("handlers-")]
    assert len(handlers) == 8, left
    assert "cpuid-kept.txt" in left
    # The newest old ones stay with this start's own.
    assert [n for n in handlers if n.startswith("handlers-old")] == \
        [f"handlers-old{i:02d}" for i in range(5, 12)], left
    assert _standing_in(cache) > 100         # its own is among them
