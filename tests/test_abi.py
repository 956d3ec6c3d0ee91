"""The ABI layer: its generated tables are the headers' own, its structure
layouts are what each ABI's C compiler makes of the structures, and the
registry's names are Linux's."""
import os
import subprocess
import sys

import pytest

from conftest import ROOT, build
from sysgate.abi.structs import LAYOUTS
from sysgate.kernel import registry


def test_generated_tables_are_the_headers():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen_unistd.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("variant,abi", [("gcc64", "x86_64"), ("gcc32", "i386")])
def test_layouts_are_the_c_compilers(variant, abi):
    out = subprocess.run([build("abi_layouts.c", variant)], capture_output=True, text=True,
                         check=True).stdout
    seen = 0
    for line in out.splitlines():
        name, what, value = line.split()
        lay = LAYOUTS[abi][name]
        got = lay.size if what == "sizeof" else lay.offset[what]
        assert got == int(value), f"{abi} {name} {what}: sysgate {got}, C {value}"
        seen += 1
    assert seen == 29


def test_every_registered_name_is_linuxs():
    from sysgate import handlers  # noqa: F401  (every registration)
    from sysgate.kernel.tables.unistd import NR_I386, NR_X86_64
    tables = {"x86_64": NR_X86_64, "i386": NR_I386}
    stray = {name for (abi, name) in registry.HANDLERS
             if not any(name in tables[a] for a in ([abi] if abi else tables))}
    # send and recv are socketcall's; the two old_ names are handlers of
    # i386 numbers that their modules still register by another name.
    assert stray == {"send", "recv", "old_mmap", "oldumount"}


def test_variants_are_one_handler_with_their_arguments_fixed():
    from sysgate import handlers  # noqa: F401
    x64, i386 = (lambda n: registry.lookup("x86_64", n)), (lambda n: registry.lookup("i386", n))
    assert x64("open").fn is x64("openat").fn is x64("creat").fn
    assert x64("open").bound == {"dirfd": -100}
    assert i386("setuid").fn is x64("setuid").fn is i386("setuid32").fn
    assert i386("setuid").bound["id16"] and "id16" not in x64("setuid").bound
    assert i386("getuid32").fn is x64("getuid").fn
    assert i386("clock_gettime64").bound == {"wide": True} and not x64("clock_gettime").bound
    # a "file" argument reads as the descriptor it is, for the trace
    assert x64("fsync").kinds == ("fd",)
