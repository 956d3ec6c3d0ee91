"""Garbage signal frames through sigreturn, on both ABIs, against the host
itself: random registers and segment selectors (CS, SS, and i386's DS, ES,
FS, GS), bad or absent FPU state, strict and lax SS. A frame IRET refuses
is SIGSEGV at once with Linux's siginfo and trap number and error code;
a data segment the kernel cannot load becomes null; a frame the kernel
takes resumes at a UD2 (SIGILL). No frame content is an internal error.

Some of what is compared was measured on this kind of host, not read in a
manual (a stack selector from the LDT faults with error code 0 before CS
is looked at; a canonical RIP above 4 GiB is cut to 32 bits on the way
into compat mode; a null data selector reads as 0 after IRET): the native
run is the oracle on every host."""
import pytest

from conftest import build, run_native, run_sysgate

FUZZ = ("sigframe_fuzz.c", ["-fno-stack-protector"])


def _exe(variant):
    return build(FUZZ[0], variant, FUZZ[1])


def _same(variant, args, env=None):
    import os
    e = dict(os.environ, **(env or {}))
    exe = _exe(variant)
    native = run_native(exe, args, env=e)
    emu = run_sysgate(exe, args, env=e)
    assert native.status == 0 and native.stderr == b"", native
    assert (emu.status, emu.stderr) == (0, b""), emu
    got, want = emu.stdout.decode().splitlines(), native.stdout.decode().splitlines()
    assert len(got) == len(want)
    diffs = [(w, g) for w, g in zip(want, got) if w != g]
    assert not diffs, f"{len(diffs)} of {len(want)} trials differ, first: {diffs[:3]}"
    return want


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
@pytest.mark.parametrize("seed", [1, 2])
def test_fuzzed_frames_end_as_natively(variant, seed):
    out = _same(variant, [str(seed), "200"])
    # Both outcomes are exercised: frames taken (SIGILL at the UD2) and
    # frames IRET refuses (SIGSEGV, #GP, SI_KERNEL).
    assert sum(":sig 4 2 " in line for line in out) > 20
    assert sum(":sig b 80 0 trap d " in line for line in out) > 50


def test_i386_bad_fs_gs_become_null():
    """The issue's case: FS=0xffff, GS=0xfff3 were an internal error. Linux
    loads null instead and the task goes on."""
    out = _same("gcc32", ["1", "8"], {"FS": "0xffff", "GS": "0xfff3", "CS": "0x23",
                                      "SS": "0x2b"})
    assert all(":sig 4 2 " in line and " fs 0 gs 0 " in line for line in out), out


@pytest.mark.parametrize("cs,ss,err", [("0x2b", "0x2b", "28"), ("0x10", "0x2b", "10"),
                                       ("0x33", "0x0", "0"), ("0x33", "0x23", "20")])
def test_x86_64_bad_cs_ss_is_sigsegv_at_once(cs, ss, err):
    """Bad CS or SS on x86-64: SIGSEGV at the sigreturn (not SIGILL later),
    with the selector in the error code. A bad SS in a frame without
    UC_STRICT_RESTORE_SS (1 in 4 here) is mended to __USER_DS instead."""
    out = _same("gcc64", ["3", "12"], {"CS": cs, "SS": ss})
    segv = [line for line in out if f":sig b 80 0 trap d {err} " in line]
    assert len(segv) >= 6, out
    if cs != "0x33":
        assert not any(":sig 4 " in line for line in out), out


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_without_a_handler_the_task_dies_of_it(variant):
    out = _same(variant, ["4", "6"], {"CS": "0x7b", "BARE": "1"})
    assert all(line.endswith("killed by b") for line in out), out


@pytest.mark.parametrize("variant", ["gcc64", "gcc32", "musl64"])
def test_sigreturn_restores_the_alternate_stack(variant):
    exe = build("sigframe_altstack.c", variant)
    native = run_native(exe)
    emu = run_sysgate(exe)
    assert (emu.status, emu.stdout, emu.stderr) == (native.status, native.stdout, native.stderr)
    assert native.stdout.endswith(b"frame edited to SS_DISABLE: none flags 2 size 0\n")


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_sigreturn_without_a_frame(variant):
    """sigreturn called with the stack pointer at nothing or at junk."""
    exe = build("sigframe_raw.c", variant, ["-fno-stack-protector"])
    for mode in (0, 1, 2, 3):
        for seed in range(1, 5):
            args = [str(mode), str(seed)]
            native, emu = run_native(exe, args), run_sysgate(exe, args)
            assert (emu.status, emu.stdout) == (native.status, native.stdout), (mode, seed)
            if mode & 1:
                assert native.stdout == b"sig 11 code 128 addr (nil) trap 0 err 0\n"
