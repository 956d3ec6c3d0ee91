"""The Linux kernel's own x86 and vDSO selftests (tests/selftests/, GPL-2.0
test inputs) run under sysgate on both CPU models.

The native run is the oracle: a test that fails on this host natively (a
hypervisor quirk, a missing CPU feature) is skipped with the native reason.
Every test in EXPECTED_PASS must pass under sysgate; any other that fails is
an xfail carrying its failing line, so the count stays visible
(`pytest -rxs tests/test_selftests.py`). bench/selftests.py prints the same
runs as a table, with qemu-user beside them.

SYSGATE_SELFTESTS_SLOW=1 adds the slow ones (syscall_numbering_64)."""
import concurrent.futures
import os

import pytest

import selftests_kit as kit

SLOW = {"syscall_numbering_64"}
TIMEOUT = float(os.environ.get("SYSGATE_SELFTESTS_TIMEOUT", "90"))

# Passing under sysgate on both models (2026-12-01); a regression here fails CI.
EXPECTED_PASS = {
    "check_initial_reg_state_32", "check_initial_reg_state_64", "corrupt_xstate_header_64",
    "entry_from_vm86_32", "ioperm_32", "ioperm_64", "iopl_32",
    "iopl_64", "ldt_gdt_64", "mov_ss_trap_32", "mov_ss_trap_64", "sigaltstack_32", "sigaltstack_64",
    "sigreturn_32", "sigreturn_64", "sigtrap_loop_32", "sigtrap_loop_64", "syscall_arg_fault_32",
    "syscall_arg_fault_64", "syscall_nt_32", "syscall_nt_64", "sysret_rip_64", "sysret_ss_attrs_32",
    "sysret_ss_attrs_64",
    "test_FCMOV_32", "test_mremap_vdso_32", "test_mremap_vdso_64", "test_syscall_vdso_32",
    "unwind_vdso_32", "vdso_restorer_32", "vdso_standalone_test_x86_64", "vdso_test_abi_32",
    "vdso_test_abi_64", "vdso_test_clock_getres_32", "vdso_test_clock_getres_64",
    "vdso_test_getcpu_32", "vdso_test_getcpu_64", "vdso_test_gettimeofday_32",
    "vdso_test_gettimeofday_64",
    # getcpu follows sched_setaffinity; /proc/self/maps lists [vsyscall]
    "test_vsyscall_32", "test_vsyscall_64", "vdso_test_correctness_32", "vdso_test_correctness_64",
    # set_thread_area reloads a data segment register holding its selector
    "ldt_gdt_32",
    # guest ptrace
    "ptrace_syscall_32", "ptrace_syscall_64",
    # ... whose user area has the segment bases and selectors
    "fsgsbase_64", "fsgsbase_restore_64",
    # a tracer's registers at a signal stop inside a SYSENTER call
    "fsgsbase_restore_32",
    # orig_rax is the whole RAX; only -1 skips a call (slow: SYSGATE_SELFTESTS_SLOW=1)
    "syscall_numbering_64",
    # TF across every gate; on AMD, SYSENTER's #UD with no step trap after it
    "single_step_syscall_32", "single_step_syscall_64",
}
# Passing on one model only: (test, cpu)
EXPECTED_PASS_ON = set()

NAMES = [n for n in kit.targets() if n not in SLOW or os.environ.get("SYSGATE_SELFTESTS_SLOW")]
CPUS = ("intel", "amd")


class _Runs:
    """Every selected run, made once, two at a time (the machine has 2 cores)."""

    def __init__(self, items):
        self.wanted = items
        self.done = {}

    def get(self, name, runner):
        key = (name, runner)
        if key not in self.done:
            self._batch(key)
        return self.done[key]

    def _batch(self, first):
        keys = [first] + [k for k in self.wanted if k not in self.done and k != first]
        built = kit.build_all(sorted({n for n, _ in keys}))

        def one(key):
            n, r = key
            exe = built[n]
            if isinstance(exe, tuple):
                return key, exe
            return key, kit.run(r, exe, kit.targets()[n][0], timeout=TIMEOUT)

        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            # natives first: a test the host fails is never run under sysgate
            natives = [k for k in keys if k[1] == "native"]
            for k, o in ex.map(one, natives):
                self.done[k] = o
            rest = [k for k in keys if k[1] != "native"
                    and not _native_failed(self.done.get((k[0], "native")))]
            for k, o in ex.map(one, rest):
                self.done[k] = o


def _native_failed(o):
    return o is not None and (isinstance(o, tuple) or not o.passed)


@pytest.fixture(scope="module")
def runs(request):
    wanted = []
    for item in request.session.items:
        cs = getattr(item, "callspec", None)
        if item.module is request.module and cs:
            wanted += [(cs.params["name"], "native"), (cs.params["name"], cs.params["cpu"])]
    return _Runs(list(dict.fromkeys(wanted)))


@pytest.mark.parametrize("cpu", CPUS)
@pytest.mark.parametrize("name", NAMES)
def test_selftest(runs, name, cpu):
    native = runs.get(name, "native")
    if isinstance(native, tuple):
        pytest.skip(native[1])
    if not native.passed:
        pytest.skip(f"fails natively on this host: {native.why()}")
    o = runs.get(name, cpu)
    if name in EXPECTED_PASS or (name, cpu) in EXPECTED_PASS_ON:
        assert o.passed, f"{name} under sysgate --cpu {cpu}: {o.why()}\n{o.out[-3000:]}"
    elif not o.passed:
        pytest.xfail(f"{o.summary()}: {o.why()}")


def test_expected_pass_names_exist():
    names = EXPECTED_PASS | {n for n, _ in EXPECTED_PASS_ON}
    assert names <= set(kit.targets()), names - set(kit.targets())
