"""CPU faults in user mode, native against sysgate: how the program dies
(status 128+N and the shell's message) and, with a handler installed, what
the signal tells it (signal, si_code, si_addr, saved IP, trap number, error
code). The guest is tests/guests/fault_ops.c; see there for each fault.

In the caught form ("all") every fault runs in one process per variant, each
left by siglongjmp: that also checks that the CPU survives any number of
faults in a row (QEMU's double-fault bookkeeping, see cpu.engine)."""
import re

import pytest

from conftest import ALL, assert_same, build, run_native, run_sysgate


def exe(variant):
    return build("fault_ops.c", variant)


# --- default action: status and message ---------------------------------------

# The faults every program can meet, on every variant.
COMMON = ["null_read", "null_write", "jump_unmapped", "ud2", "div0", "int3", "hlt",
          "int0x81", "rodata_write"]


@pytest.mark.parametrize("op", COMMON)
@pytest.mark.parametrize("variant", ALL)
def test_fault_kills_like_linux(variant, op):
    native, emu = assert_same(exe(variant), [op])
    assert native.signal is not None, native
    assert emu.stdout == op.encode() + b"\n"


# Faults where the emulated CPU and Linux part ways unless sysgate steps in:
# INT n to exception vectors (#GP, not the exception), INT1/ICEBP and
# single-step (SIGTRAP), IN/OUT and RDPMC (#GP), SYSRET from user mode
# (#GP, with EFER.SCE set), the page below 2^47 and kernel-half or
# non-canonical addresses, NX data, the stack. (The caught form below runs
# these and more, one process per variant.)
MORE64 = ["icebp", "tf", "int0", "int6", "in_port", "rdpmc", "sysret", "top_page",
          "noncanonical", "kernel_addr", "exec_data", "stack_overflow"]
MORE32 = ["into", "bound", "top_page", "icebp"]


@pytest.mark.parametrize("op", MORE64)
def test_more_faults_kill_like_linux_64(op):
    native, _ = assert_same(exe("gcc64"), [op], opts=["--cpu", "amd"])
    assert native.signal is not None, native


@pytest.mark.parametrize("op", MORE32)
def test_more_faults_kill_like_linux_32(op):
    native, _ = assert_same(exe("gcc32"), [op], opts=["--cpu", "amd"])
    assert native.signal is not None, native


# --- caught: what the handler is told ----------------------------------------------


# Unicorn keeps 52 bits of an address: 0x80007ffffffff000 arrives as the user
# address 0x7ffffffff000, a page fault rather than Linux's #GP.
CAUGHT_SKIP = ["noncanonical"]

# Where the vendors' architectures differ, the modelled CPU's manual is the
# oracle, not the host: the host may be of the other vendor, and a
# hypervisor may answer neither way (seen: an AMD VM reporting ICEBP at the
# instruction, an Intel VM executing SYSENTER in long mode). Values are
# (signal, si_code, si_addr, ip, trapno, err) as fault_ops prints them.
UD_AT = (b"4", b"2", b"at", b"at", b"6", b"0")          # #UD: SIGILL, ILL_ILLOPN
GP0_AT = (b"11", b"128", b"0", b"at", b"13", b"0")      # #GP(0): SIGSEGV, SI_KERNEL
ARCH = {
    # SYSRET at CPL 3: Intel checks CS.L first (#UD outside 64-bit code),
    # AMD checks CPL only (#GP); from 64-bit code both give #GP.
    ("sysret", "gcc32"): {"intel": UD_AT, "amd": GP0_AT},
    # SYSENTER in long mode is #UD on AMD; on Intel it enters the kernel,
    # whose return lands at a truncated address (not comparable: skipped).
    ("sysenter64", "gcc64"): {"amd": UD_AT},
    ("sysenter64", "musl64"): {"amd": UD_AT},
    # ICEBP is a trap on both: reported after the instruction.
    ("icebp", None): {"intel": (b"5", b"1", b"end", b"end", b"1", b"0"),
                      "amd": (b"5", b"1", b"end", b"end", b"1", b"0")},
}


def architectural(op, variant, model):
    """The modelled CPU's own answer for op, where the host is no oracle."""
    for key in ((op, variant), (op, None)):
        if key in ARCH:
            return ARCH[key].get(model, "skip")
    return None


LINE = re.compile(rb"  caught signal (\d+) code (\d+) addr=(\S+) ip=(\S+) trapno=(\d+) err=(\S+)$")

def parse(out):
    """{fault: (signal, code, addr, ip, trapno, err) or 'survived'}."""
    result, cur = {}, None
    for line in out.splitlines():
        m = LINE.match(line)
        if m:
            result[cur] = m.groups()
        elif line == b"  survived":
            result[cur] = "survived"
        else:
            cur = line.decode()
            result[cur] = None
    return result


def _caught(variant, cpu, skip=()):
    skip = list(skip) + [op for (op, v), answers in ARCH.items()
                         if v == variant and cpu not in answers]
    args = ["all", *CAUGHT_SKIP, *skip]
    native = run_native(exe(variant), args)
    emu = run_sysgate(exe(variant), args, opts=["--cpu", cpu])
    assert native.status == 0 and native.stderr == b"", native
    assert emu.status == 0 and emu.stderr == b"", emu
    native, emu = parse(native.stdout), parse(emu.stdout)
    for op in native:
        arch = architectural(op, variant, cpu)
        if arch is not None and arch != "skip":
            native[op] = arch
    return native, emu


# Every field, the error codes included: a #GP's is the selector of a bad
# segment load or (vector << 3) | 2 of an INT n; a page fault's has the P bit
# from TASK_SIZE_MAX up (Linux's sanitize_error_code), the page just below
# 2^47 included.
@pytest.mark.parametrize("variant", ALL)
def test_caught_faults_as_amd(variant):
    native, emu = _caught(variant, "amd")
    assert all(isinstance(r, tuple) for r in native.values()), native
    assert emu == native


def test_caught_faults_as_intel():
    native, emu = _caught("gcc64", "intel")
    assert emu == native


# The CPU engine translates straight-line code as one block and checks for
# a stop only at a block's start (cpu.ucfields): a faulting store, load or
# OUT must still end the block at its instruction, with nothing after it
# (a store, a register change) done, and a store straddling into a
# read-only page writes neither half.
@pytest.mark.parametrize("variant", ALL)
def test_fault_ends_its_block(variant):
    native, _ = assert_same(build("fault_block_rest.c", variant))
    assert native.stdout.count(b"after 0") == 5, native.stdout
