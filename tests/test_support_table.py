"""docs/syscalls.md is the registry's own table: regenerate it with
`sysgate syscalls --markdown > docs/syscalls.md` when a handler or its
status changes."""
import os

from sysgate.kernel import support

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_support_page_matches_the_registry():
    with open(os.path.join(ROOT, "docs", "syscalls.md")) as f:
        page = f.read()
    assert page == support.markdown() + "\n", (
        "docs/syscalls.md is stale: run `python3 -m sysgate syscalls --markdown "
        "> docs/syscalls.md`")


def test_every_number_of_both_abis_is_listed():
    from sysgate.kernel.registry import names
    for abi in support.ABIS:
        listed = {nr for nr, _, _, _ in support.rows(abi)}
        assert listed == set(names(abi))
        assert all(status in ("supported", "partial", "absent", "missing")
                   for _, _, status, _ in support.rows(abi))
