"""The vDSO images (sysgate/vdso): built from their sources, shaped as a libc
expects, and correct when run.

- the shipped vdso64.so / vdso32.so (+ .json) are what the sources build to,
  and the build is deterministic;
- exports, versions, hash tables, unwind tables, no relocations;
- the vvar layout is the same in src/vvar.h and vvar.py;
- natively: a C harness maps an image with a vvar page below it, finds the
  exports through the image's own hash tables and compares every function
  with the real system calls (page filled by the harness, or by vvar.py);
  i386: __kernel_vsyscall, and a backtrace from a signal handler through
  __kernel_(rt_)sigreturn and __kernel_vsyscall using the image's CFI;
- real static glibc (64, 32) and musl programs started with the image as
  their vDSO (AT_SYSINFO_EHDR, AT_SYSINFO) read their time from it;
- under Unicorn, the CPU sysgate runs on: the clocks, and each gate of
  __kernel_vsyscall returning to int80_landing_pad.
"""
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import time

import pytest

from sysgate.vdso import elfread, images, vvar

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VDSO = os.path.join(ROOT, "sysgate", "vdso")
HARNESS = os.path.join(VDSO, "tests", "harness.c")
GUEST = os.path.join(VDSO, "tests", "guest_time.c")
NAMES = {"x86_64": "vdso64", "i386": "vdso32"}

V26, V25 = "LINUX_2.6", "LINUX_2.5"
EXPORTS = {
    "x86_64": {n: V26 for n in (
        "__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time", "__vdso_getcpu",
        "__vdso_clock_getres", "clock_gettime", "gettimeofday", "time", "getcpu",
        "clock_getres")},
    "i386": {
        "__kernel_vsyscall": V25, "__kernel_sigreturn": V25, "__kernel_rt_sigreturn": V25,
        "__vdso_clock_gettime": V26, "__vdso_clock_gettime64": V26,
        "__vdso_gettimeofday": V26, "__vdso_time": V26, "__vdso_clock_getres": V26,
        "__vdso_getcpu": V26,      # as Linux's vdso32 (not in the brief's list)
    },
}
ALIASES = {"clock_gettime", "gettimeofday", "time", "getcpu", "clock_getres"}
BOTH = ("x86_64", "i386")


def have(*tools):
    return all(shutil.which(t) for t in tools)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def shipped(arch, ext):
    return os.path.join(VDSO, NAMES[arch] + ext)


def readbytes(path):
    with open(path, "rb") as f:
        return f.read()


needs_toolchain = pytest.mark.skipif(not have("gcc", "make", "objcopy"),
                                     reason="gcc, make and objcopy build the images")
needs_readelf = pytest.mark.skipif(not have("readelf"), reason="readelf is not installed")


# ---------------------------------------------------------------- the build

@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    if not have("gcc", "make", "objcopy"):
        pytest.skip("gcc, make and objcopy build the images")
    out = tmp_path_factory.mktemp("vdso-build")
    r = run(["make", "-s", "-C", VDSO, f"OUT={out}"])
    assert r.returncode == 0, r.stdout + r.stderr
    return str(out)


@pytest.mark.parametrize("arch", BOTH)
def test_shipped_image_matches_sources(build_dir, arch):
    fresh = json.loads(readbytes(os.path.join(build_dir, NAMES[arch] + ".json")))
    ship = json.loads(readbytes(shipped(arch, ".json")))
    if fresh["toolchain"] != ship["toolchain"]:
        pytest.skip(f"built with {ship['toolchain']}, this toolchain is {fresh['toolchain']}")
    assert readbytes(os.path.join(build_dir, NAMES[arch] + ".so")) == readbytes(shipped(arch, ".so")), \
        "the shipped image is stale: run make -C sysgate/vdso"
    assert fresh == ship


@needs_toolchain
def test_rebuild_is_deterministic_and_path_independent(build_dir, tmp_path):
    """Sources copied elsewhere build to the same bytes."""
    copy = tmp_path / "some" / "other" / "vdso"
    shutil.copytree(VDSO, copy, ignore=shutil.ignore_patterns("build", "*.so", "*.json",
                                                              "__pycache__", "tests"))
    out = tmp_path / "out"
    r = run(["make", "-s", "-C", str(copy), f"OUT={out}"])
    assert r.returncode == 0, r.stdout + r.stderr
    for arch in BOTH:
        for ext in (".so", ".json"):
            assert readbytes(out / (NAMES[arch] + ext)) == \
                readbytes(os.path.join(build_dir, NAMES[arch] + ext)), NAMES[arch] + ext


# ------------------------------------------------- shape: symbols, tables

@pytest.mark.parametrize("arch", BOTH)
def test_exports_and_versions(arch):
    img = images.load(arch)
    assert img.versions == EXPORTS[arch]
    assert {n: v["version"] for n, v in img.meta["symbols"].items()} == EXPORTS[arch]
    for name, off in img.symbols.items():
        assert img.lookup(name, EXPORTS[arch][name]) == off
        assert elfread.Elf(img.data).lookup_sysv(name, EXPORTS[arch][name]).value == off
    if arch == "x86_64":
        for alias in ALIASES:
            assert img.symbols[alias] == img.symbols["__vdso_" + alias]
            assert img.meta["symbols"][alias]["bind"] == "weak"
    assert img.lookup("__vdso_clock_gettime", "LINUX_2.5") is None


@needs_readelf
@pytest.mark.parametrize("arch", BOTH)
def test_readelf_sees_exports_and_versions(arch):
    out = run(["readelf", "-W", "--dyn-syms", shipped(arch, ".so")]).stdout
    found = {}
    for m in re.finditer(r"^\s*\d+: ([0-9a-f]+)\s+\d+ FUNC\s+(GLOBAL|WEAK)\s+DEFAULT\s+\d+ (\S+)@@(\S+)$",
                         out, re.M):
        found[m.group(3)] = m.group(4)
        assert (m.group(2) == "WEAK") == (m.group(3) in ALIASES)
    assert found == EXPORTS[arch]
    vers = run(["readelf", "-W", "-V", shipped(arch, ".so")]).stdout
    soname = "linux-vdso.so.1" if arch == "x86_64" else "linux-gate.so.1"
    assert f"Flags: BASE  Index: 1  Cnt: 1  Name: {soname}" in vers
    for v in set(EXPORTS[arch].values()):
        assert f"Name: {v}" in vers


@pytest.mark.parametrize("arch", BOTH)
def test_image_structure(arch):
    img = images.load(arch)
    e = elfread.Elf(img.data)
    assert e.type == elfread.ET_DYN and e.is64 == (arch == "x86_64")
    assert sorted(p.type for p in e.phdrs) == sorted(
        [elfread.PT_LOAD, elfread.PT_DYNAMIC, elfread.PT_NOTE, elfread.PT_GNU_EH_FRAME])
    (load,) = e.segments(elfread.PT_LOAD)
    assert (load.offset, load.vaddr, load.flags) == (0, 0, 5)      # R+X, the file from 0
    assert load.filesz == load.memsz <= len(img.data)
    tags = dict(e.dynamic())
    for t in (elfread.DT_HASH, elfread.DT_GNU_HASH, elfread.DT_VERSYM, elfread.DT_VERDEF):
        assert t in tags
    for t in (elfread.DT_REL, elfread.DT_RELA, elfread.DT_JMPREL, elfread.DT_TEXTREL):
        assert t not in tags
    names = {s.name for s in e.sections}
    assert {".hash", ".gnu.hash", ".dynsym", ".eh_frame_hdr", ".eh_frame", ".note"} <= names
    assert not any(n.startswith((".rel", ".plt")) for n in names)
    assert img.size <= 2 * 4096 and img.pages <= 2
    assert img.vvar_offset == img.meta["vvar_offset"] == -4096
    note = e.section_data(".note")
    assert note[12:18] == b"Linux\0"
    assert struct.unpack_from("<I", img.data, img.meta["linux_version_offset"])[0] == 0x060100


@needs_readelf
@pytest.mark.parametrize("arch", BOTH)
def test_readelf_no_relocations_and_eh_frame(arch):
    so = shipped(arch, ".so")
    assert "There are no relocations in this file." in run(["readelf", "-r", so]).stdout
    phdrs = run(["readelf", "-lW", so]).stdout
    assert "GNU_EH_FRAME" in phdrs and "DYNAMIC" in phdrs
    assert len(re.findall(r"^\s+LOAD\s", phdrs, re.M)) == 1
    secs = run(["readelf", "-SW", so]).stdout
    for s in (".hash", ".gnu.hash", ".eh_frame_hdr", ".eh_frame"):
        assert re.search(rf"\] {re.escape(s)}\s", secs), s
    dyn = run(["readelf", "-dW", so]).stdout
    assert "(HASH)" in dyn and "(GNU_HASH)" in dyn
    assert not re.search(r"\((REL|RELA|TEXTREL|JMPREL|RELACOUNT|RELCOUNT)\)", dyn)


@needs_readelf
@pytest.mark.parametrize("arch", BOTH)
def test_every_export_has_unwind_info(arch):
    img = images.load(arch)
    frames = run(["readelf", "--debug-dump=frames", shipped(arch, ".so")]).stdout
    fdes = [(int(a, 16), int(b, 16)) for a, b in re.findall(r"FDE cie=\w+ pc=(\w+)\.\.(\w+)", frames)]
    for name, off in img.symbols.items():
        size = img.meta["symbols"][name]["size"]
        assert any(a <= off and off + size <= b for a, b in fdes), name
    if arch == "i386":
        # the trampolines' FDEs start a byte early, in a signal-frame CIE,
        # and find the caller's registers in the sigcontext
        for name in ("__kernel_sigreturn", "__kernel_rt_sigreturn"):
            off = img.symbols[name]
            assert any(a <= off - 1 and off < b for a, b in fdes), name
        assert 'Augmentation:          "zRS"' in frames
        assert frames.count("DW_CFA_def_cfa_expression (DW_OP_breg4 (esp): 32; DW_OP_deref)") == 1
        assert frames.count("DW_CFA_def_cfa_expression (DW_OP_breg4 (esp): 28; DW_OP_deref)") == 1
        assert frames.count("DW_CFA_def_cfa_expression (DW_OP_breg4 (esp): 188; DW_OP_deref)") == 1
        assert "DW_CFA_expression: r8 (eip) (DW_OP_breg4 (esp): 216)" in frames


# ------------------------------------------------ __kernel_vsyscall's slot

def test_vsyscall_layout():
    img = images.load("i386")
    v = img.vsyscall
    d = img.data
    entry, slot, size, pad = v["entry"], v["alt_slot"], v["alt_slot_size"], v["landing_pad"]
    assert entry == img.symbols["__kernel_vsyscall"] and img.landing_pad == pad
    assert d[entry:slot] == bytes.fromhex("515255")              # push ecx, edx, ebp
    assert d[slot:slot + size] == b"\x90" * size                 # NOPs: the INT 0x80 gate
    assert slot + size == v["int80"] == pad - 2
    assert d[pad - 2:pad] == b"\xcd\x80"                         # int $0x80
    assert d[pad:pad + 4] == bytes.fromhex("5d5a59c3")           # pop ebp, edx, ecx; ret
    assert v["gates"] == {"int80": "90" * size, "sysenter": "89e50f34", "syscall": "89cd0f05"}
    assert d[img.symbols["__kernel_sigreturn"]:][:8] == bytes.fromhex("58b877000000cd80")
    assert d[img.symbols["__kernel_rt_sigreturn"]:][:7] == bytes.fromhex("b8ad000000cd80")
    assert "vsyscall" not in images.load("x86_64").meta


def test_patch_vsyscall():
    img = images.load("i386")
    slot, pad = img.vsyscall["alt_slot"], img.landing_pad
    for gate, seq in (("int80", "90909090"), ("sysenter", "89e50f34"), ("syscall", "89cd0f05")):
        p = images.patch_vsyscall(img.data, gate)
        assert p[slot:slot + 4].hex() == seq and images.gate_of(p) == gate
        assert p[:slot] == img.data[:slot] and p[slot + 4:] == img.data[slot + 4:]
        assert p[pad - 2:pad] == b"\xcd\x80"
        for other in images.GATES:                               # from any gate to any
            assert images.gate_of(images.patch_vsyscall(p, other)) == other
        m = img.mapping(gate)
        assert len(m) == img.pages * 4096 and m[:img.size] == p
    assert images.patch_vsyscall(img.data, "int80") == img.data
    with pytest.raises(ValueError):
        images.patch_vsyscall(img.data, "sysret")
    with pytest.raises(ValueError):
        images.patch_vsyscall(images.load("x86_64").data, "syscall")
    with pytest.raises(ValueError):
        images.load("x86_64").mapping("syscall")
    assert images.load(64) is images.load("x86_64") and images.load(32) is images.load("i386")


def test_set_linux_version():
    img = images.load("x86_64")
    p = images.set_linux_version(img.data, "x86_64", 6, 18, 3)
    assert struct.unpack_from("<I", p, img.meta["linux_version_offset"])[0] == 0x061203


# ----------------------------------------------------------- the vvar page

VVAR_FIELDS = {"seq": vvar.SEQ, "clock_mode": vvar.CLOCK_MODE, "cycle_last": vvar.CYCLE_LAST,
               "mult": vvar.MULT, "shift": vvar.SHIFT, "flags": vvar.FLAGS,
               "hrtimer_res": vvar.HRTIMER_RES, "coarse_res": vvar.COARSE_RES,
               "tz_minuteswest": vvar.TZ_MINUTESWEST, "tz_dsttime": vvar.TZ_DSTTIME,
               "cpu": vvar.CPU, "node": vvar.NODE, "basetime": vvar.BASETIME,
               "basetime[1].nsec": vvar.base_offset(1) + 8,
               "basetime[11].sec": vvar.base_offset(11)}


@needs_toolchain
@pytest.mark.parametrize("bits", ("-m64", "-m32"))
def test_vvar_h_matches_vvar_py(tmp_path, bits):
    src = tmp_path / "off.c"
    src.write_text('#include <stdio.h>\n#include <stddef.h>\n#include "vvar.h"\nint main(void){\n'
                   + "".join(f'printf("%s %zu\\n", "{f}", offsetof(struct vvar_page, {f}));\n'
                             for f in VVAR_FIELDS)
                   + 'printf("size %zu\\n", sizeof(struct vvar_page));\n'
                   + 'printf("consts %d %d %d %d %d %d\\n", VVAR_SIZE, VVAR_CLOCK_MODE_NONE, '
                     'VVAR_CLOCK_MODE_TSC, VVAR_F_COARSE_TSC, VVAR_F_GETCPU, VVAR_NR_BASES);\n'
                   + "return 0;}\n")
    exe = tmp_path / "off"
    r = run(["gcc", bits, "-I", os.path.join(VDSO, "src"), "-o", str(exe), str(src)])
    assert r.returncode == 0, r.stderr
    got = dict(line.rsplit(" ", 1) for line in run([str(exe)]).stdout.splitlines()
               if not line.startswith("consts"))
    assert {f: int(got[f]) for f in VVAR_FIELDS} == VVAR_FIELDS
    assert int(got["size"]) == vvar.USED == vvar.HEADER.size + vvar.NR_BASES * vvar.BASE.size
    consts = run([str(exe)]).stdout.splitlines()[-1].split()[1:]
    assert list(map(int, consts)) == [vvar.SIZE, vvar.CLOCK_MODE_NONE, vvar.CLOCK_MODE_TSC,
                                      vvar.F_COARSE_TSC, vvar.F_GETCPU, vvar.NR_BASES]


def test_vvar_pack_and_reference_arithmetic():
    v = vvar.Vvar(seq=4, clock_mode=vvar.CLOCK_MODE_TSC, cycle_last=1000, mult=3 << 30,
                  shift=31, tz_minuteswest=-60, cpu=3, node=1)         # 1.5 ns per cycle
    v.set_clock(vvar.CLOCK_MONOTONIC, 5 * 10**9 + 999_999_000)
    v.set_clock(vvar.CLOCK_MONOTONIC_COARSE, 7 * 10**9 + 5)
    page = v.pack()
    assert len(page) == 4096 and page[vvar.USED:] == bytes(4096 - vvar.USED)
    assert struct.unpack_from("<IIQII", page, 0) == (4, 1, 1000, 3 << 30, 31)
    assert struct.unpack_from("<QQ", page, vvar.base_offset(1)) == (5, 999_999_000 << 31)
    u = vvar.Vvar.unpack(page)
    assert u.pack() == page and (u.seq, u.tz_minuteswest, u.cpu, u.node) == (4, -60, 3, 1)
    assert u.bases.pop(1) == v.bases[1] and u.bases.pop(6) == v.bases[6]
    assert set(u.bases.values()) == {(0, 0)}
    assert v.read(vvar.CLOCK_MONOTONIC, 1000 + 1000) == (6, 500)           # +1500 ns
    assert v.read(vvar.CLOCK_MONOTONIC, 999) == (5, 999_999_000)          # behind: no time
    assert v.read(vvar.CLOCK_MONOTONIC_COARSE, 10**12) == (7, 5)          # coarse: base
    v.flags = vvar.F_COARSE_TSC
    assert v.read(vvar.CLOCK_MONOTONIC_COARSE, 1002) == (7, 8)
    assert v.read(2, 0) is None and v.read(4, 0) is None                  # not served
    assert vvar.Vvar().read(vvar.CLOCK_MONOTONIC, 0) is None              # zero page: syscalls
    assert vvar.mult_shift(2.5e9) == (1717986918, 32)


def test_vvar_advanced_keeps_every_reading():
    import random
    rnd = random.Random(7)
    for _ in range(200):
        shift = rnd.randrange(33)
        v = vvar.Vvar(seq=10, clock_mode=vvar.CLOCK_MODE_TSC, cycle_last=rnd.randrange(1 << 62),
                      mult=rnd.randrange(1 << 32), shift=shift)
        for clk in vvar.SERVED_CLOCKS:
            v.bases[clk] = (rnd.randrange(1 << 40), rnd.randrange(10**9) << shift)
        tsc = v.cycle_last + rnd.randrange(1 << rnd.choice([10, 30, 45]))
        if ((tsc - v.cycle_last) * v.mult + (10**9 << shift)) >> shift >= 1 << 64:
            continue            # past what 64-bit nanoseconds hold
        w = v.advanced(tsc)
        assert (w.seq, w.cycle_last) == (12, tsc)
        for later in (tsc, tsc + 1, tsc + rnd.randrange(1 << 40)):
            if ((later - v.cycle_last) * v.mult + (10**9 << shift)) >> shift >= 1 << 64:
                continue        # past what 64-bit nanoseconds hold: both wrap, differently
            for clk in vvar.HRES_CLOCKS:
                assert w.read(clk, later) == v.read(clk, later)
        assert w.read(vvar.CLOCK_MONOTONIC_COARSE, 0) == v.read(vvar.CLOCK_MONOTONIC, tsc)
        assert w.read(vvar.CLOCK_REALTIME_COARSE, 0) == v.read(vvar.CLOCK_REALTIME, tsc)
        assert v.advanced(v.cycle_last - 5).bases == {**v.bases, **{
            c: (v.bases[f][0], v.bases[f][1] >> shift << shift)
            for c, f in ((5, 0), (6, 1))}}
    assert vvar.mult_shift(1e8)[1] < 32 and vvar.mult_shift(1e8)[0] < 1 << 32


# ------------------------------------------------------- natively, in C

def _build(tmp, name, cmd):
    out = str(tmp / name)
    r = run(cmd + ["-o", out])
    if r.returncode:
        pytest.fail(f"{' '.join(cmd)}:\n{r.stderr}")
    return out


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    if not have("gcc"):
        pytest.skip("gcc builds the native harness")
    tmp = tmp_path_factory.mktemp("vdso-harness")
    flags = ["-O1", "-Wall", "-Wextra", HARNESS, "-ldl"]
    return {"x86_64": _build(tmp, "h64", ["gcc"] + flags),
            "i386": _build(tmp, "h32", ["gcc", "-m32"] + flags)}


def _check(cmd, **kw):
    r = run(cmd, timeout=120, **kw)
    assert r.returncode == 0 and "FAIL" not in r.stdout, r.stdout + r.stderr
    return r.stdout


@pytest.mark.parametrize("arch", BOTH)
def test_native_page_filled_by_harness(harness, arch):
    out = _check([harness[arch], shipped(arch, ".so"), "-", "check"])
    assert "PASSED" in out and "clock_gettime(MONOTONIC) never goes back" in out
    assert "fallback clock_gettime(PROCESS_CPUTIME_ID, 2) = 0" in out
    if arch == "i386":
        assert "ok   __kernel_vsyscall(getpid)" in out


@pytest.mark.parametrize("arch", BOTH)
def test_native_page_written_by_vvar_py(harness, arch, tmp_path):
    page = vvar.TscClock().snapshot(seq=2, tz_minuteswest=-60, tz_dsttime=1).pack()
    (tmp_path / "vvar").write_bytes(page)
    out = _check([harness[arch], shipped(arch, ".so"), str(tmp_path / "vvar"), "check"])
    assert "PASSED" in out


def test_i386_unwind_through_sigreturn_and_vsyscall(harness):
    out = _check([harness["i386"], shipped("i386", ".so"), "-", "unwind"])
    assert out.count("backtrace from the handler") == 2


# ---------------------------------------- real libcs with this as their vDSO

GUESTS = {
    "glibc64": ("x86_64", ["gcc", "-static", "-no-pie", "-O1"]),
    "glibc32": ("i386", ["gcc", "-m32", "-static", "-no-pie", "-O1"]),
    "musl64": ("x86_64", ["musl-gcc", "-static", "-O1"]),
}
SHIFT_S = 10**6          # the page's REALTIME is a million seconds ahead: only
                         # time read from this vDSO can say so


@pytest.fixture(scope="module")
def guests(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vdso-guests")
    out = {}
    for name, (_, cmd) in GUESTS.items():
        if have(cmd[0]):
            out[name] = _build(tmp, name, cmd + [GUEST])
    return out


def _shifted_page():
    v = vvar.TscClock().snapshot(seq=2, flags=vvar.F_GETCPU, cpu=5, hrtimer_res=7)
    for clk in (vvar.CLOCK_REALTIME, vvar.CLOCK_REALTIME_COARSE, vvar.CLOCK_TAI):
        sec, nsec = v.bases[clk]
        v.bases[clk] = (sec + SHIFT_S, nsec)
    return v.pack()


def _exec(harness, guests, name, tmp_path, image=None):
    if name not in guests:
        pytest.skip(f"{GUESTS[name][1][0]} is not installed")
    arch = GUESTS[name][0]
    (tmp_path / "vvar").write_bytes(_shifted_page())
    if image is None:
        image = shipped(arch, ".so")
    env = dict(os.environ, GLIBC_TUNABLES="glibc.pthread.rseq=0")   # sched_getcpu via getcpu
    return run([harness[arch], image, str(tmp_path / "vvar"), "exec", guests[name]],
               env=env, timeout=60)


@pytest.mark.parametrize("name", sorted(GUESTS))
def test_real_libc_uses_the_vdso(harness, guests, name, tmp_path):
    r = _exec(harness, guests, name, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    got = {line.split()[0]: line.split()[1:] for line in r.stdout.splitlines()}
    now = time.time() + SHIFT_S
    assert got["realtime"][0] == "0" and abs(int(got["realtime"][1]) - now) < 5, got
    assert abs(int(got["time"][0]) - now) < 5, got
    assert got["gettimeofday"][0] == "0" and abs(int(got["gettimeofday"][1]) - now) < 5, got
    mono = time.clock_gettime(time.CLOCK_MONOTONIC)
    assert got["monotonic"][0] == "0" and abs(int(got["monotonic"][1]) - mono) < 5, got
    assert got["cputime"][0] == "0"                  # not served: the system call answered
    assert got["pid"] == ["1"]
    if name == "glibc64":
        assert got["getres"] == ["0", "0", "7"]      # clock_getres from the page
    if name in ("glibc64", "musl64"):
        assert got["getcpu"] == ["5"]                # sched_getcpu from the page


def test_glibc32_makes_its_system_calls_through_kernel_vsyscall(harness, guests, tmp_path):
    """With ud2 in the slot, the first system call through __kernel_vsyscall
    dies of SIGILL; every gate's image runs the program natively as int80."""
    img = images.load("i386")
    broken = bytearray(img.data)
    slot = img.vsyscall["alt_slot"]
    broken[slot:slot + 4] = bytes.fromhex("0f0b9090")
    (tmp_path / "ud2.so").write_bytes(broken)
    r = _exec(harness, guests, "glibc32", tmp_path, str(tmp_path / "ud2.so"))
    assert r.returncode == -signal.SIGILL, r.stdout + r.stderr
    (tmp_path / "int80.so").write_bytes(
        images.patch_vsyscall(images.patch_vsyscall(img.data, "syscall"), "int80"))
    r = _exec(harness, guests, "glibc32", tmp_path, str(tmp_path / "int80.so"))
    assert r.returncode == 0 and "realtime 0" in r.stdout, r.stdout + r.stderr


# ------------------------------------------------------------ under Unicorn

BASE = 0x70010000                        # the image; the vvar page is at BASE - 0x1000
STACK, DATA, RET = 0x70100000, 0x70200000, 0x70300000


class Emu:
    """An image and its vvar page in Unicorn, and a way to call its exports."""

    def __init__(self, arch, page, gate=None):
        u = pytest.importorskip("unicorn")
        self.x = pytest.importorskip("unicorn.x86_const")
        self.img = images.load(arch)
        self.is64 = arch == "x86_64"
        self.uc = u.Uc(u.UC_ARCH_X86, u.UC_MODE_64 if self.is64 else u.UC_MODE_32)
        self.uc.mem_map(BASE + self.img.vvar_offset, 4096 + self.img.pages * 4096)
        self.uc.mem_write(BASE + self.img.vvar_offset, page)
        self.uc.mem_write(BASE, self.img.mapping(gate))
        for a in (STACK, DATA, RET):
            self.uc.mem_map(a, 0x10000)

    def reg(self, name, value=None):
        r = getattr(self.x, "UC_X86_REG_" + name.upper())
        if value is None:
            return self.uc.reg_read(r)
        self.uc.reg_write(r, value)

    def call(self, fn, *args, **regs):
        sp = STACK + 0x8000
        if self.is64:
            for name, a in zip(("rdi", "rsi", "rdx"), args):
                self.reg(name, a)
            sp -= 8
            self.uc.mem_write(sp, struct.pack("<Q", RET))
            self.reg("rsp", sp)
        else:
            self.uc.mem_write(sp, struct.pack(f"<{1 + len(args)}I", RET, *args))
            self.reg("esp", sp)
        for name, v in regs.items():
            self.reg(name, v)
        self.uc.emu_start(BASE + self.img.symbols[fn], RET)
        ax = self.reg("rax" if self.is64 else "eax")
        bits = 64 if self.is64 else 32
        return ax - (1 << bits) if ax >> (bits - 1) else ax


@pytest.mark.parametrize("arch", BOTH)
def test_unicorn_clocks(arch):
    clock = vvar.TscClock()
    emu = Emu(arch, clock.snapshot(seq=2, tz_minuteswest=-60, tz_dsttime=1).pack())
    fmt = "<qq" if arch == "x86_64" else "<ii"
    for clk in (vvar.CLOCK_MONOTONIC, vvar.CLOCK_REALTIME, vvar.CLOCK_BOOTTIME, vvar.CLOCK_TAI):
        before = time.clock_gettime_ns(clk)
        assert emu.call("__vdso_clock_gettime", clk, DATA) == 0
        after = time.clock_gettime_ns(clk)
        sec, nsec = struct.unpack(fmt, emu.uc.mem_read(DATA, struct.calcsize(fmt)))
        assert before - 2_000_000 <= sec * 10**9 + nsec <= after + 2_000_000, clk
    if arch == "i386":
        before = time.clock_gettime_ns(1)
        assert emu.call("__vdso_clock_gettime64", 1, DATA) == 0
        sec, nsec = struct.unpack("<qq", emu.uc.mem_read(DATA, 16))
        assert before - 2_000_000 <= sec * 10**9 + nsec <= time.clock_gettime_ns(1) + 2_000_000
    assert emu.call("__vdso_gettimeofday", 0, DATA) == 0
    assert struct.unpack("<ii", emu.uc.mem_read(DATA, 8)) == (-60, 1)
    assert abs(emu.call("__vdso_time", 0) - time.time()) < 2


@pytest.mark.parametrize("arch", BOTH)
def test_unicorn_fallback_makes_the_system_call(arch):
    """clock_gettime(CLOCK_PROCESS_CPUTIME_ID): SYSCALL (x86-64) or INT 0x80
    (i386) with the ABI's number and arguments; its result is returned."""
    emu = Emu(arch, vvar.TscClock().snapshot(seq=2).pack())
    seen = []
    x = emu.x
    if arch == "x86_64":
        def hook(uc, _):
            seen.append((emu.reg("rax"), emu.reg("rdi"), emu.reg("rsi")))
            emu.reg("rax", -22 & (2**64 - 1))
        emu.uc.hook_add(pytest.importorskip("unicorn").UC_HOOK_INSN, hook, None, 1, 0,
                        x.UC_X86_INS_SYSCALL)
        want = (228, 2, DATA)
    else:
        def hook(uc, intno, _):
            seen.append((emu.reg("eax"), emu.reg("ebx"), emu.reg("ecx")))
            emu.reg("eax", -22 & (2**32 - 1))
        emu.uc.hook_add(pytest.importorskip("unicorn").UC_HOOK_INTR, hook)
        want = (265, 2, DATA)
    assert emu.call("__vdso_clock_gettime", 2, DATA) == -22
    assert seen == [want]
    # a zeroed page (CLOCK_MODE_NONE): every clock makes the system call
    emu.uc.mem_write(BASE - 4096, bytes(4096))
    seen.clear()
    assert emu.call("__vdso_clock_gettime", 1, DATA) == -22
    assert seen == [(want[0], 1, DATA)]


@pytest.mark.parametrize("gate", images.GATES)
def test_unicorn_kernel_vsyscall_gates(gate):
    """Each patched gate enters with Linux's register convention, and the
    kernel side returns to int80_landing_pad. Unicorn adds the instruction's
    length (2) to a PC written in a SYSCALL/SYSENTER hook: write pad - 2."""
    u = pytest.importorskip("unicorn")
    emu = Emu("i386", vvar.Vvar().pack(), gate)
    x, pad = emu.x, BASE + emu.img.landing_pad
    seen = []

    def on_int(uc, intno, _):
        seen.append(("int80", intno, emu.reg("eax"), emu.reg("ebx"), emu.reg("ecx"),
                     emu.reg("edx")))
        emu.reg("eax", 1000)

    def on_fast(uc, _):
        esp = emu.reg("esp")
        saved_ebp, saved_edx, saved_ecx = struct.unpack("<III", uc.mem_read(esp, 12))
        seen.append((gate, emu.reg("eip") - BASE, emu.reg("eax"), emu.reg("ebx"),
                     emu.reg("ebp"), esp, saved_ebp, saved_edx, saved_ecx))
        emu.reg("eax", 2000)
        emu.reg("eip", pad - 2)

    emu.uc.hook_add(u.UC_HOOK_INTR, on_int)
    emu.uc.hook_add(u.UC_HOOK_INSN, on_fast, None, 1, 0, x.UC_X86_INS_SYSCALL)
    emu.uc.hook_add(u.UC_HOOK_INSN, on_fast, None, 1, 0, x.UC_X86_INS_SYSENTER)
    r = emu.call("__kernel_vsyscall", eax=20, ebx=0x1111, ecx=0x2222, edx=0x3333, ebp=0x4444)
    assert (emu.reg("ecx"), emu.reg("edx"), emu.reg("ebp")) == (0x2222, 0x3333, 0x4444)
    assert emu.reg("esp") == STACK + 0x8000 + 4                  # returned to the caller
    slot = emu.img.vsyscall["alt_slot"]
    if gate == "int80":
        assert r == 1000 and seen == [("int80", 0x80, 20, 0x1111, 0x2222, 0x3333)]
        return
    assert r == 2000 and len(seen) == 1
    g, ip, ax, bx, bp, sp, saved_ebp, saved_edx, saved_ecx = seen[0]
    assert (g, ip, ax, bx) == (gate, slot + 2, 20, 0x1111)
    assert (saved_ebp, saved_edx, saved_ecx) == (0x4444, 0x3333, 0x2222)
    # SYSENTER: %ebp = %esp (the kernel finds arg 6 at [%ebp]); SYSCALL: %ebp =
    # %ecx (arg 2, which SYSCALL clobbers)
    assert bp == (sp if gate == "sysenter" else 0x2222)


@pytest.mark.parametrize("arch", BOTH)
def test_unicorn_arithmetic_is_exactly_vvar_py(arch):
    """With the TSC value chosen (written into EDX:EAX right after each
    rdtsc), the vDSO's answer is exactly vvar.Vvar.read's: the 96-bit
    product, the shift and the division by 10^9 (two divl on i386)."""
    import random
    u = pytest.importorskip("unicorn")
    rnd = random.Random(1234)
    emu = Emu(arch, bytes(4096))
    data = emu.img.data
    after_rdtsc = {BASE + i + 5 for i in range(len(data)) if data[i:i + 5] == b"\x0f\xae\xe8\x0f\x31"}
    assert after_rdtsc
    tsc = [0]

    def on_code(uc, address, size, _):
        if address in after_rdtsc:
            emu.reg("eax", tsc[0] & 0xFFFFFFFF)
            emu.reg("edx", tsc[0] >> 32)
    emu.uc.hook_add(u.UC_HOOK_CODE, on_code, None, BASE, BASE + len(data))
    fn = "__vdso_clock_gettime" if arch == "x86_64" else "__vdso_clock_gettime64"
    for i in range(300):
        shift = rnd.choice([0, 1, 7, 20, 24, 31, 32, rnd.randrange(33)])
        v = vvar.Vvar(seq=2 * i, clock_mode=vvar.CLOCK_MODE_TSC, mult=rnd.randrange(1 << 32),
                      shift=shift, cycle_last=rnd.randrange(1 << 63),
                      flags=rnd.choice([0, vvar.F_COARSE_TSC]))
        for clk in vvar.SERVED_CLOCKS:
            v.bases[clk] = (rnd.randrange(1 << 40), rnd.randrange(10**9) << shift)
        emu.uc.mem_write(BASE - 4096, v.pack())
        for clk in (vvar.CLOCK_MONOTONIC, vvar.CLOCK_REALTIME_COARSE, vvar.CLOCK_TAI):
            delta = rnd.choice([0, 1, rnd.randrange(1 << 20), rnd.randrange(1 << 40),
                                rnd.randrange(1 << 62), -rnd.randrange(1 << 30)])
            tsc[0] = (v.cycle_last + delta) & (2**64 - 1)
            assert emu.call(fn, clk, DATA) == 0
            got = struct.unpack("<qq", emu.uc.mem_read(DATA, 16))
            want = v.read(clk, tsc[0])
            assert (got[0] & (2**64 - 1), got[1]) == want, (i, clk, delta, v)
