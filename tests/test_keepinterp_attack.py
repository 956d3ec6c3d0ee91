"""Attacks on the interpreter kept across execve (kernel.keepinterp): a
guest that changes what the kept translated code came from, looks for the
old image's code regions Unicorn still holds, or leaves state on the CPU
for the next image. Linux is the oracle."""
import os
import shutil

import pytest

from conftest import BUILD, assert_same, build, run_native, run_sysgate

DYN = ["gcc64-dyn", "gcc32-dyn"]
LDSO = {"gcc64-dyn": "/lib64/ld-linux-x86-64.so.2", "gcc32-dyn": "/lib/ld-linux.so.2"}


def _private_ldso(variant):
    """A program linked with a copy of ld.so as its interpreter, and a
    function that puts a fresh copy there."""
    d = os.path.join(BUILD, f"keep-ld-{variant}")
    os.makedirs(d, exist_ok=True)
    ld = os.path.join(d, "ld.so")

    def fresh():
        if os.path.exists(ld):
            os.unlink(ld)
        shutil.copy(LDSO[variant], ld)
        os.chmod(ld, 0o755)
    fresh()
    return build("keep_ldfile.c", variant, [f"-Wl,--dynamic-linker={ld}"]), fresh


@pytest.mark.parametrize("variant", DYN)
@pytest.mark.parametrize("what,expect", [("modify", (42, b"")), ("replace", (42, b"")),
                                         ("restore", (0, b"ran\n"))])
def test_interpreter_file_changed_between_execs(variant, what, expect):
    # The old image's interpreter code, in memory, is a private mapping of
    # the file: it shows what was written to the file since, while the
    # blocks translated from it are the old bytes'. The new image must run
    # the file as it is now.
    exe, fresh = _private_ldso(variant)
    fresh()
    native = run_native(exe, [what])
    fresh()
    emu = run_sysgate(exe, [what])
    fresh()
    assert (native.status, native.stdout) == expect, native
    assert (emu.status, emu.stdout) == expect, emu


@pytest.mark.parametrize("variant", DYN)
def test_state_of_the_kept_cpu(variant):
    # x87, SSE, MXCSR, EFLAGS.DF/AC, GS base, selectors, TLS entries, the
    # LDT, signal state: as Linux leaves them after execve.
    native, _ = assert_same(build("keep_state.c", variant), ["dirty"])
    assert b"mxcsr" in native.stdout and native.status == 0, native


@pytest.mark.parametrize("variant", DYN)
def test_old_code_mapping_is_nothing(variant):
    # Every way the new image can touch the old image's code (still in
    # Unicorn, out of sight) answers as Linux's with nothing mapped there;
    # a new mapping over part of it runs its own code, not the blocks
    # translated there before, and the rest stays nothing.
    native, _ = assert_same(build("keep_stale.c", variant), ["mapfile"])
    assert native.stdout.count(b"its code: 9") == 1, native.stdout
    # a mapping below it grown in place (mremap) over it
    native, _ = assert_same(build("keep_stale.c", variant), ["mapfile-grow"])
    assert native.stdout == b"grown in place: 1\nits code: 9\n", native.stdout


def test_old_libc_and_program_code_are_nothing():
    # libc's and the program's code (x86-64 only: i386's 8 bits of ASLR
    # put the new image's there too often)
    native, _ = assert_same(build("keep_stale.c", "gcc64-dyn"))
    assert native.stdout.count(b"its code: 9") == 2, native.stdout


@pytest.mark.parametrize("variant", DYN)
@pytest.mark.parametrize("what", ["fork", "vfork", "thread", "poke", "pokeback", "reprotect",
                                  "rewrite store", "rewrite procmem", "rewrite vmwritev",
                                  "rewrite read", "then rewrite store",
                                  "then rewrite procmem", "then poke"])
def test_exec_in_company(variant, what):
    native, _ = assert_same(build("keep_more.c", variant, ["-pthread"]), what.split())
    assert native.status == 0 and native.stdout, native


@pytest.mark.parametrize("variant", DYN)
def test_dynamic_static_dynamic(variant):
    static = build("keep_more.c", variant.replace("-dyn", ""), ["-pthread"])
    native, _ = assert_same(build("keep_more.c", variant, ["-pthread"]), ["static", static])
    assert native.stdout == b"static\nran\nchild status 0\n", native


@pytest.mark.parametrize("variant", DYN)
def test_old_code_mapping_through_a_tracer(variant):
    # PEEK/POKE, process_vm_readv/writev, /proc/PID/mem of another process
    native, _ = assert_same(build("keep_stale.c", variant), ["traced"])
    assert b"PEEKTEXT -1 Input/output error" in native.stdout, native.stdout


def test_another_interpreter_between():
    # glibc's ld.so, musl's, glibc's again: no CPU kept across a change
    musl = build("keep_more.c", "musl64-dyn", ["-pthread"])
    native, _ = assert_same(build("keep_more.c", "gcc64-dyn", ["-pthread"]), ["static", musl])
    assert native.stdout == b"static\nran\nchild status 0\n", native
