"""kernel.lazyreg.LATE_STDLIB names every standard module sysgate imports
inside a function (at its first use): import_everything imports them
before a guest changes the host process's identity, after which they may
be out of its reach (tests/test_cred.py test_calls_after_dropping_root).
And a handler's stand-in leaves the gate's tables at its first call even
when the handler's module was imported by something else first."""
import ast
import os
import subprocess
import sys

import pytest

from conftest import BENCH_GUESTS, ROOT, build

from sysgate.kernel.lazyreg import LATE_STDLIB

# Not sysgate's to promise (bench plots), or sysgate's own engine.
OUTSIDE = {"matplotlib", "matplotlib.pyplot", "unicorn", "unicorn.unicorn_py3",
           "unicorn.unicorn_py3.arch.intel"}


def _late_imports(path):
    tree = ast.parse(open(path).read(), path)
    found = set()

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if in_function and isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif in_function and isinstance(child, ast.ImportFrom) and not child.level:
                found.add(child.module)
            visit(child, inner)
    visit(tree, False)
    return found


def test_late_stdlib_covers_every_import_inside_a_function():
    late = set()
    for top, _, files in os.walk(os.path.join(ROOT, "sysgate")):
        for name in files:
            if name.endswith(".py"):
                late |= _late_imports(os.path.join(top, name))
    missing = {m for m in late if not m.startswith("sysgate")} - set(LATE_STDLIB) - OUTSIDE
    assert not missing, f"add to kernel.lazyreg.LATE_STDLIB: {sorted(missing)}"


_STUCK = r"""
import sys
sys.path.insert(0, sys.argv[1])
from sysgate.machine import Machine
from sysgate.kernel.lazyreg import import_all
m = Machine(cpu=sys.argv[3], seed=1)
m.load(sys.argv[2], [sys.argv[2], "5"], envp=[])
import_all()        # as before a fork: every stand-in made its handler
assert m.run() == ("exit", 0)
g = m.gate
e = g.table32[20] if sys.argv[4] == "i386" else g.table64[39]
print(e.fn is e.call.call, getattr(e.fn, "__name__", ""))
"""


@pytest.mark.parametrize("variant,extra,abi", [("gcc64", [], "x86_64"),
                                               ("gcc32", ["-DVSYSCALL"], "i386")])
def test_a_stand_in_resolved_elsewhere_leaves_the_tables(variant, extra, abi):
    # A table built while getpid's handler was a stand-in, the handler's
    # module then imported by something else (import_all before a fork):
    # getpid's first call puts the handler itself in the table, where the
    # stand-in would cost one more Python call at every call.
    exe = build("getpid_loop.c", variant, extra, guests=BENCH_GUESTS)
    out = subprocess.run([sys.executable, "-c", _STUCK, ROOT, exe, "intel", abi], check=True,
                         capture_output=True, text=True, timeout=600).stdout.split()
    assert out == ["True", "sys_getpid"], out
