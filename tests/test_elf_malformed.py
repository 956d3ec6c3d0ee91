"""Malformed ELF files, run natively and under sysgate: the same execve
errno when Linux refuses the file, else the same death signal or exit
status (a failure past execve's point of no return is SIGSEGV), and never
an internal error or a hang.

Mutants are generated deterministically (tests/elf_mutate.py, fixed seed)
from real programs the suite builds (gcc64, gcc32, musl64 static; gcc64 and
gcc32 dynamic) and run two ways under sysgate: as the target of a guest's
execve (tests/guests/elf_exec.c, which runs natively too and is the
reference) and as the PROGRAM of `sysgate run`. SYSGATE_ELF_FUZZ=N runs N
mutants each way instead of the default few hundred."""
import os
import subprocess
import sys
import time

import pytest

from conftest import ROOT, assert_same, build, run_native, run_sysgate

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import elf_mutate as M  # noqa: E402

SEED = 11
EXEC_COUNT = int(os.environ.get("SYSGATE_ELF_FUZZ", "0")) or 300
PROGRAM_COUNT = int(os.environ.get("SYSGATE_ELF_FUZZ", "0")) or 60
BASES = ("gcc64", "gcc32", "musl64", "gcc64-dyn", "gcc32-dyn")
ENOEXEC, EACCES, ENOENT, EIO, ELIBBAD, ELOOP = 8, 13, 2, 5, 80, 40


@pytest.fixture(scope="module")
def targets():
    return {v: build("elf_target.c", v) for v in BASES}


@pytest.fixture(scope="module")
def exec_guest():
    return build("elf_exec.c", "gcc64")


def env():
    return dict(os.environ, PYTHONPATH=ROOT)


def native_outcomes(exec_guest, files, limit_ms=3000):
    out = subprocess.run([exec_guest, str(limit_ms), *files], capture_output=True,
                         text=True, timeout=60 + len(files) * limit_ms / 1000).stdout
    return M.parse_lines(out)


def execve_outcomes(exec_guest, files, limit_ms=30000):
    r = run_sysgate(exec_guest, [str(limit_ms), *files], timeout=120 + len(files) * 5)
    return M.parse_lines(r.stdout.decode())


def program_outcomes(files, timeout=30, opts=()):
    out = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "elf_mutate.py"),
                          str(timeout), *opts, *files], capture_output=True, text=True,
                         env=env(), timeout=120 + len(files) * timeout).stdout
    return M.parse_lines(out)


def compare(files, native, emulated, how, desc=None):
    bad = []
    for f in files:
        n, e = native.get(f), emulated.get(f)
        assert e is not None and not e.startswith("internal"), f"{how} {f}: {e}"
        assert e != "timeout" or n == "timeout", f"{how} {f}: hangs under sysgate, natively {n}"
        if n == "timeout":
            continue
        if n != e:
            bad.append(f"{os.path.basename(f)} [{(desc or {}).get(f, '')}]: native {n}, {how} {e}")
    assert not bad, "\n".join(bad)


@pytest.fixture(scope="module")
def mutants(targets, tmp_path_factory):
    d = str(tmp_path_factory.mktemp("mutants"))
    special = os.path.join(d, "special")
    os.mkdir(special)
    files = M.generate(targets, max(EXEC_COUNT, PROGRAM_COUNT), SEED, d,
                       M.special_paths(special))
    return files


def test_mutants_through_execve(mutants, exec_guest):
    files = [f for f, _ in mutants[:EXEC_COUNT]]
    native = native_outcomes(exec_guest, files)
    assert len(native) == len(files)
    compare(files, native, execve_outcomes(exec_guest, files), "execve", dict(mutants))


def test_mutants_as_program(mutants, exec_guest):
    files = [f for f, _ in mutants[:PROGRAM_COUNT]]
    native = native_outcomes(exec_guest, files)
    compare(files, native, program_outcomes(files), "program", dict(mutants))


# --- the cases of issue #11, by name ---------------------------------------
def _load_segments(e):
    return [i for i, p in enumerate(e.phdrs()) if p["type"] == M.PT_LOAD]


def _variant(path, dest, edit):
    with open(path, "rb") as f:
        e = M.Elf(f.read())
    edit(e)
    with open(dest, "wb") as f:
        f.write(bytes(e.data))
    os.chmod(dest, 0o755)
    return str(dest)


def _text(e):
    """The executable PT_LOAD."""
    return next(i for i in _load_segments(e) if e.phdrs()[i]["flags"] & 1)


def _bss(e):
    return next(i for i in _load_segments(e) if e.phdrs()[i]["memsz"] > e.phdrs()[i]["filesz"])


EXAMPLES = {
    "overlapping-loads": lambda e: e.set_phdr(_text(e), "vaddr",
                                             e.phdrs()[_load_segments(e)[0]]["vaddr"]
                                             + (e.phdrs()[_text(e)]["offset"] & 0xFFF)),
    "noncanonical-entry": lambda e: e.set_hdr(M.E_ENTRY, 0x800000000000 if e.is64 else 0xFFFFF000),
    "unmapped-entry": lambda e: e.set_hdr(M.E_ENTRY, 0x20000),
    "entry-in-data": lambda e: e.set_hdr(M.E_ENTRY, e.phdrs()[_bss(e)]["vaddr"]),
    "huge-memsz": lambda e: e.set_phdr(_bss(e), "memsz", (1 << 46) if e.is64 else 0xFFFF0000),
    "memsz-wraps": lambda e: e.set_phdr(_bss(e), "memsz", (1 << 64) - 0x1000 if e.is64
                                        else 0xFFFFF000),
    "filesz-above-memsz": lambda e: e.set_phdr(_text(e), "memsz", 0x10),
    "offset-not-congruent": lambda e: e.set_phdr(_text(e), "offset",
                                                 e.phdrs()[_text(e)]["offset"] + 1),
    "no-permissions": lambda e: e.set_phdr(_text(e), "flags", 0),
    "bss-no-permissions": lambda e: e.set_phdr(_bss(e), "flags", 0),
    "no-loads": lambda e: [e.set_phdr(i, "type", 0) for i in _load_segments(e)],
    "segment-past-eof": lambda e: e.set_phdr(_text(e), "offset", 1 << 30),
    "phnum-zero": lambda e: e.set_hdr(M.E_PHNUM, 0),
    "phentsize": lambda e: e.set_hdr(M.E_PHENTSIZE, 40),
    "phoff-past-eof": lambda e: e.set_hdr(M.E_PHOFF, 1 << 40),
    "class-swapped": lambda e: e.data.__setitem__(4, 3 - e.data[4]),
    "other-machine": lambda e: e.set_hdr(M.E_MACHINE, 40),
    "pie-static": lambda e: e.set_hdr(M.E_TYPE, 3),
}


@pytest.mark.parametrize("variant", ["gcc64", "gcc32", "gcc64-dyn"])
def test_issue_examples(variant, targets, exec_guest, tmp_path):
    files = [_variant(targets[variant], tmp_path / name, edit) for name, edit in EXAMPLES.items()]
    native = native_outcomes(exec_guest, files)
    compare(files, native, execve_outcomes(exec_guest, files), "execve")
    # The same through the i386 execve (int 0x80 / vsyscall, 32-bit pointers).
    compare(files, native, execve_outcomes(build("elf_exec.c", "gcc32"), files), "execve32")
    compare(files, native, program_outcomes(files), "program")
    # Past the point of no return Linux kills the process: these are signals.
    for name in ("noncanonical-entry", "unmapped-entry", "huge-memsz", "no-permissions"):
        assert native[str(tmp_path / name)] == "signal 11", (name, native)


def test_non_executable_program(targets, exec_guest, tmp_path):
    """A 0644 program: execve's EACCES, and a shell's 126."""
    p = tmp_path / "prog"
    p.write_bytes(open(targets["gcc64"], "rb").read())
    p.chmod(0o644)
    r = run_sysgate(str(p))
    assert r.status == 126 and r.stderr == f"sysgate: {p}: Permission denied\n".encode(), r
    assert native_outcomes(exec_guest, [str(p)])[str(p)] == f"errno {EACCES}"
    assert execve_outcomes(exec_guest, [str(p)])[str(p)] == f"errno {EACCES}"


def _interp_variant(path, dest, edit):
    def change(e):
        i = next(j for j, p in enumerate(e.phdrs()) if p["type"] == M.PT_INTERP)
        edit(e, i)
    return _variant(path, dest, change)


def _name(target):
    def edit(e, i):
        e.data += os.fsencode(target) + b"\0"
        e.set_phdr(i, "offset", len(e.data) - len(os.fsencode(target)) - 1)
        e.set_phdr(i, "filesz", len(os.fsencode(target)) + 1)
    return edit


def test_pt_interp_cases(targets, exec_guest, tmp_path):
    """Empty, cut short, past the end of the file, naming a FIFO, a
    directory, nothing, a text file, an empty file, the other ABI's ld.so:
    each Linux's errno, at once (a FIFO is never opened)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    text = tmp_path / "text"
    text.write_text("#!/bin/sh\n" + "# not an ELF header\n" * 8)
    for f in (empty, text):
        f.chmod(0o755)
    cases = {
        "filesz-0": (lambda e, i: e.set_phdr(i, "filesz", 0), ENOEXEC),
        "filesz-1": (lambda e, i: e.set_phdr(i, "filesz", 1), ENOEXEC),
        "empty-name": (lambda e, i: e.data.__setitem__(e.phdrs()[i]["offset"], 0), EACCES),
        "unterminated": (lambda e, i: e.set_phdr(i, "filesz", e.phdrs()[i]["filesz"] - 1),
                         ENOEXEC),
        "past-eof": (lambda e, i: e.set_phdr(i, "offset", len(e.data) + 16), EIO),
        "fifo": (_name(str(fifo)), EACCES),
        "directory": (_name(str(tmp_path)), EACCES),
        "missing": (_name(str(tmp_path / "missing")), ENOENT),
        "text": (_name(str(text)), ELIBBAD),
        "empty-file": (_name(str(empty)), EIO),
        "other-abi": (_name("/lib/ld-linux.so.2"), ELIBBAD),
    }
    files = {name: _interp_variant(targets["gcc64-dyn"], tmp_path / f"prog-{name}", edit)
             for name, (edit, _) in cases.items()}
    native = native_outcomes(exec_guest, list(files.values()))
    t0 = time.monotonic()
    emu = execve_outcomes(exec_guest, list(files.values()))
    prog = program_outcomes(list(files.values()), timeout=10)
    assert time.monotonic() - t0 < 60
    for name, (_, err) in cases.items():
        f = files[name]
        assert native[f] == f"errno {err}", (name, native[f])
        assert emu[f] == native[f], (name, emu[f])
        assert prog[f] == native[f], (name, prog[f])
    r = run_sysgate(files["missing"])
    assert r.status == 127 and b"cannot load its interpreter" in r.stderr, r
    assert r.stderr.count(b"\n") == 1


def test_exec_of_fifo_and_directory(exec_guest, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    os.chmod(fifo, 0o777)
    files = [str(fifo), str(tmp_path)]
    native = native_outcomes(exec_guest, files)
    assert set(native.values()) == {f"errno {EACCES}"}
    assert execve_outcomes(exec_guest, files) == native
    r = run_sysgate(str(fifo), timeout=20)
    assert r.status == 126 and r.stderr.endswith(b": Permission denied\n"), r


def test_sparse_file_is_refused_at_once(exec_guest, tmp_path):
    """execve reads the header, not the file: a 256 MiB sparse file is
    ENOEXEC at once, as a program and through execve (the guest execs it
    twenty times; natively all of it is instant)."""
    p = tmp_path / "sparse"
    with open(p, "wb") as f:
        f.truncate(256 << 20)
    p.chmod(0o755)
    t0 = time.monotonic()
    r = run_sysgate(str(p))
    once = time.monotonic() - t0
    assert r.status == 126 and b"Exec format error" in r.stderr, r
    t0 = time.monotonic()
    out = execve_outcomes(exec_guest, [str(p)] * 20)
    twenty = time.monotonic() - t0
    assert out == {str(p): f"errno {ENOEXEC}"}
    assert once < 2.0 and twenty < 4.0, (once, twenty)


def test_script_as_program(tmp_path, targets):
    """A #! script as PROGRAM runs as execve runs it: the interpreter with
    its optional argument, the script's path, then the arguments."""
    s = tmp_path / "script.sh"
    s.write_text("#!/bin/sh\necho \"script $0 [$1]\"; exit 5\n")
    s.chmod(0o755)
    native = run_native(str(s), ["an arg"])
    emu = run_sysgate(str(s), ["an arg"])
    assert (native.status, native.stdout) == (5, f"script {s} [an arg]\n".encode())
    assert (emu.status, emu.stdout, emu.stderr) == (native.status, native.stdout, native.stderr)
    e = tmp_path / "echo"
    e.write_text("#!/bin/echo  -n   two words  \n")
    e.chmod(0o755)
    assert run_sysgate(str(e), ["x"]).stdout == run_native(str(e), ["x"]).stdout
    # Under --root the interpreter is looked up inside the root, as execve does.
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    interp = root / "bin" / "interp"
    interp.write_bytes(open(targets["gcc64"], "rb").read())
    interp.chmod(0o755)
    c = tmp_path / "confined"
    c.write_text("#!/bin/interp\n")
    c.chmod(0o755)
    r = run_sysgate(str(c), opts=["--root", str(root)])
    assert (r.status, r.stdout) == (7, b"target ran\n"), r
    r = run_sysgate(str(s), opts=["--root", str(root)])
    assert r.status == 127 and r.stderr == f"sysgate: {s}: No such file or directory\n".encode()
    # A script inside the root reaches its interpreter by its name there.
    if os.path.exists("/bin/busybox"):
        (root / "bin" / "sh").write_bytes(open("/bin/busybox", "rb").read())
        (root / "bin" / "sh").chmod(0o755)
        inside = root / "inside.sh"
        inside.write_text("#!/bin/sh\necho \"$0 [$1]\"\n")
        inside.chmod(0o755)
        r = run_sysgate(str(inside), ["y"], opts=["--root", str(root)])
        assert (r.status, r.stdout) == (0, b"/inside.sh [y]\n"), r


def test_script_nesting_limit(tmp_path):
    """Five #! scripts deep run; a sixth is ELOOP (exec_binprm's limit)."""
    prev = "/bin/echo"
    for i in range(7):
        p = tmp_path / f"s{i}"
        p.write_text(f"#!{prev}\n")
        p.chmod(0o755)
        prev = str(p)
    for i, want in ((4, 0), (5, 126)):
        native = run_native(str(tmp_path / f"s{i}"), ["a"]) if i < 5 else None
        emu = run_sysgate(str(tmp_path / f"s{i}"), ["a"])
        assert emu.status == want, emu
        if native is not None:
            assert emu.stdout == native.stdout
    assert b"Too many levels of symbolic links" in emu.stderr
    with pytest.raises(OSError) as e:
        subprocess.run([str(tmp_path / "s5")])
    assert e.value.errno == ELOOP


def test_execveat_script_by_descriptor(tmp_path):
    """A script exec'd through a descriptor is handed to its interpreter as
    /dev/fd/N (alloc_bprm's name); a close-on-exec one is ENOENT."""
    (tmp_path / "sc.sh").write_text("#!/bin/echo\n")
    (tmp_path / "sc.sh").chmod(0o755)
    native, _ = assert_same(build("elf_execveat.c", "gcc64"),
                            [str(tmp_path), str(tmp_path / "sc.sh")])
    assert b"cloexec fd: errno 2" in native.stdout and b"/sc.sh x" in native.stdout
