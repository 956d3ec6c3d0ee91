"""kernel.lazyreg.LATE_STDLIB names every standard module sysgate imports
inside a function (at its first use): import_everything imports them
before a guest changes the host process's identity, after which they may
be out of its reach (tests/test_cred.py test_calls_after_dropping_root)."""
import ast
import os

from conftest import ROOT

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
