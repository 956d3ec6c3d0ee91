"""The dispatch's argument reading (registry.Entry.run, code generated
once per list of converters) gives every handler the values the
converters themselves give, for every table entry of both ABIs."""
import random

from sysgate import handlers  # noqa: F401  (every registration)
from sysgate.kernel import registry


class _Stub:
    """An entry whose handler returns what it was given."""
    def __init__(self):
        self.fn = lambda t, *args: (t, args)


def _values(rnd):
    edges = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1 << 32, (1 << 63) - 1, 1 << 63,
             (1 << 64) - 1]
    return [rnd.choice(edges) if rnd.random() < 0.5 else rnd.randrange(1 << 64)
            for _ in range(6)]


def test_entry_run_reads_arguments_as_the_converters():
    rnd = random.Random(5)
    seen = 0
    for abi in ("x86_64", "i386"):
        for e in registry.build_table(abi):
            if e is None or not e.convert:
                assert e is None or e.run is None
                continue
            run = registry.decoder(e.convert)
            for _ in range(20):
                args = tuple(_values(rnd))
                assert run(_Stub(), "t", args) == \
                    ("t", tuple(c(a) for c, a in zip(e.convert, args))), (abi, e.name)
            seen += 1
    assert seen > 300


def test_entry_run_follows_its_converters():
    # A table entry whose converters are replaced (kernel.lazyreg does, as a
    # stand-in becomes the handler) reads its arguments the new way, and its
    # first call makes the code for them.
    e = registry.Entry(0, "x", None, (registry.KINDS["fd"],), lambda t, fd: fd)
    assert e.run is registry._DECODERS.get(e.convert, registry._first)
    assert e.run(e, None, (0xFFFFFFFF,) + (0,) * 5) == -1
    e.convert = (registry.KINDS["uint"],)
    assert e.run(e, None, (0xFFFFFFFF,) + (0,) * 5) == 0xFFFFFFFF
    assert e.run is registry._DECODERS[(registry.KINDS["uint"],)]
    e.convert = ()
    assert e.run is None
