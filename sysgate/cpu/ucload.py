"""Importing Unicorn without what its library loader imports.

Unicorn 2.1.4's binding finds libunicorn with pathlib, inspect.getfile and
importlib.resources.files, which import some 40 modules (ast, dis,
tokenize, zipfile, tempfile, urllib.parse, ipaddress...) that nothing else
of a run uses: 15-20 ms of a start whose interpreter did not load them
already. For the import only, the three names are small stand-ins that
answer what that loader asks (a path joined, its parent, a function's
file, a package's directory), so it loads the very file it would have
found; they are gone from sys.modules once Unicorn is in. If the loader
asks anything else of them, Unicorn is imported again as it is.

typing (about 2.5 ms, imported by nothing else of a run) is stood in for
the same way: the binding uses it for annotations, which it does not
evaluate, and for Generic and TypeVar in its class statements, whose
subscripts the stand-ins answer with the class itself. The x86 register
classes (arch/intel.py, imported at the first Uc) are imported with it.
"""
import os
import sys
import types


class _Path(str):
    """A path as a string, with the `/`, `.parent` and Path() the loader uses."""

    def __new__(cls, *parts):
        return str.__new__(cls, os.path.join(*parts) if parts else "")

    def __truediv__(self, other):
        return _Path(self, other)

    @property
    def parent(self):
        return _Path(os.path.dirname(self))


def _package_dir(name):
    return _Path(os.path.dirname(sys.modules[name].__file__))


class _Generic:
    __slots__ = ()

    def __class_getitem__(cls, item):
        return cls


class _Annotation:
    """Tuple[int, int], Callable[..., None] and the like, never evaluated."""

    def __getitem__(self, item):
        return self


_ANY = _Annotation()
_TYPING = dict(TYPE_CHECKING=False, Generic=_Generic, TypeVar=lambda *a, **k: _ANY,
               **{n: _ANY for n in ("Any", "Callable", "Dict", "Iterable", "Iterator",
                                    "Optional", "Sequence", "Tuple", "Type", "Union")})

_STAND_INS = {
    "pathlib": dict(Path=_Path, PurePath=_Path),
    "inspect": dict(getfile=lambda fn: fn.__code__.co_filename),
    "importlib.resources": dict(files=_package_dir),
    "typing": _TYPING,
}


def import_unicorn():
    """Import the unicorn package (a no-op once it is)."""
    if "unicorn" in sys.modules:
        return
    placed = {}
    for name, attrs in _STAND_INS.items():
        if name not in sys.modules:
            placed[name] = sys.modules[name] = types.SimpleNamespace(__name__=name, **attrs)
    try:
        import unicorn  # noqa: F401
        import unicorn.unicorn_py3.arch.intel  # noqa: F401
    except Exception:
        _take_back(placed)
        placed = {}
        for name in [m for m in sys.modules if m == "unicorn" or m.startswith("unicorn.")]:
            del sys.modules[name]
        import unicorn  # noqa: F401,F811  (as it is: its error, if any, is the user's)
    finally:
        _take_back(placed)


def _take_back(placed):
    for name, mod in placed.items():
        if sys.modules.get(name) is mod:
            del sys.modules[name]
