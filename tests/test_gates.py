"""The system-call gates, native against sysgate: SYSCALL and INT 0x80 from
64-bit code, INT 0x80 and the fast 32-bit gates (compat SYSCALL, SYSENTER)
from 32-bit code under each CPU model, the legacy vsyscall page, what CPUID
and the GDT show, and the return-path decision (SYSRETQ, SYSRETL or IRET)
checked against Linux's rules and against the registers each return leaves
behind.

The host is AMD: SYSENTER is #UD here in long mode and compat SYSCALL works,
so SYSENTER under --cpu intel is checked against the native output of the
same program through another gate (the guests print nothing gate-specific).
"""
import sys

import pytest

from conftest import ALL, ROOT, assert_same, build, run_native, run_sysgate

sys.path.insert(0, ROOT)

from sysgate.cpu.engine import USER32_CS, USER_CS, USER_DS  # noqa: E402
from sysgate.entry.ptregs import PtRegs  # noqa: E402
from sysgate.entry.syscall import TASK_SIZE_MAX, sysret_allowed, sysretl_allowed  # noqa: E402

M32 = 0xFFFFFFFF
MASK64 = (1 << 64) - 1
ILL = b""     # the shell, not sysgate, names a death by signal


def host_is_amd():
    try:
        with open("/proc/cpuinfo") as f:
            return "AuthenticAMD" in f.read()
    except OSError:
        return False


AMD_HOST = pytest.mark.skipif(not host_is_amd(), reason="the native oracle needs an AMD host")


# --- 64-bit code: SYSCALL and INT 0x80 ---------------------------------------

# Linux maps a compat mmap below 4 GiB even for a 64-bit caller; checked apart.
BELOW_4G = b"mmap2 via int80 below 4 GiB:"


def _without_below_4g(out):
    return [line for line in out.splitlines() if not line.startswith(BELOW_4G)]


@pytest.mark.parametrize("variant", ["gcc64", "musl64"])
def test_syscall_and_int80_from_64bit_code(variant):
    exe = build("gate_regs64.c", variant)
    native = run_native(exe)
    emu = run_sysgate(exe)
    assert native.status == emu.status == 0, (native, emu)
    assert emu.stderr == native.stderr == b""
    assert _without_below_4g(emu.stdout) == _without_below_4g(native.stdout), (native, emu)
    # What the oracle says Linux does, so that a change of host shows.
    out = native.stdout
    assert (b"getpid via syscall: rax=pid rbx=kept rcx=next-insn rdx=kept rsi=kept rdi=kept "
            b"rbp=kept r8=kept r9=kept r10=kept r11=rflags r12=kept r13=kept r14=kept "
            b"r15=kept rflags=as-before") in out
    assert b"getpid-upper-bits via syscall: rax=pid" in out
    assert b"nr-0xffffffff via syscall: rax=-38 " in out
    assert (b"write-ebadf via int80: rax=-9 (0xfffffffffffffff7) rbx=kept rcx=kept rdx=kept "
            b"rsi=kept rdi=kept rbp=kept r8=kept r9=kept r10=kept r11=kept r12=kept "
            b"r13=kept r14=kept r15=kept rflags=as-before") in out
    assert b"written through INT 0x80 from 64-bit code\n" in out
    assert b"mmap via syscall: offset 4096 mapped, r9=kept" in out
    assert (b"single-step over syscall: 1 trap, at next-insn+1, rcx=next-insn, r11 has TF\n"
            b"single-step over int80: 1 trap, at next-insn+1, rcx=kept\n") in out


def test_compat_mmap_from_64bit_code_lands_below_4g():
    r = run_sysgate(build("gate_regs64.c", "gcc64"))
    assert BELOW_4G + b" yes" in r.stdout


# --- 32-bit code: INT 0x80 and the fast gates ----------------------------------

def _regs32_exe():
    return build("gate_regs32.c", "gcc32")


@pytest.mark.parametrize("cpu", ["intel", "amd", "i486"])
@pytest.mark.parametrize("gate", ["int80", "vsys-int80"])
def test_int80_from_32bit_code(gate, cpu):
    native, _ = assert_same(_regs32_exe(), [gate], opts=["--cpu", cpu])
    assert native.status == 0
    assert (b"write-ebadf: eax=-9 ebx=kept ecx=kept edx=kept esi=kept edi=kept ebp=kept "
            b"eflags=as-before esp=kept") in native.stdout
    assert b"nr-1000: eax=-38 " in native.stdout
    assert b"mmap2: page 1 mapped ebx=kept esi=kept edi=kept ebp=kept" in native.stdout


@AMD_HOST
def test_compat_syscall_on_amd():
    native, emu = assert_same(_regs32_exe(), ["vsys-syscall"], opts=["--cpu", "amd"])
    assert native.status == 0
    # Same results as through INT 0x80: the sixth argument came from [esp].
    assert native.stdout == run_native(_regs32_exe(), ["int80"]).stdout


@AMD_HOST
def test_sysenter_is_undefined_on_amd():
    native, emu = assert_same(_regs32_exe(), ["vsys-sysenter"], opts=["--cpu", "amd"])
    assert emu.status == 128 + 4 and emu.stderr == ILL


def test_sysenter_on_intel():
    expected = run_native(_regs32_exe(), ["int80"])
    emu = run_sysgate(_regs32_exe(), ["vsys-sysenter"], opts=["--cpu", "intel"])
    assert emu.status == 0, emu
    assert emu.stdout == expected.stdout
    assert emu.stderr == b""


def test_compat_syscall_is_undefined_on_intel():
    emu = run_sysgate(_regs32_exe(), ["vsys-syscall"], opts=["--cpu", "intel"])
    assert emu.status == 128 + 4 and emu.stderr == ILL
    assert emu.stdout == b""


@pytest.mark.parametrize("gate", ["vsys-syscall", "vsys-sysenter"])
def test_no_fast_gate_without_sep(gate):
    emu = run_sysgate(_regs32_exe(), [gate], opts=["--cpu", "i486"])
    assert emu.status == 128 + 4 and emu.stderr == ILL


@AMD_HOST
def test_sysenter_from_64bit_code_is_undefined_on_amd():
    assert_same(build("fault_ops.c", "gcc64"), ["sysenter64"], opts=["--cpu", "amd"])


# --- the vsyscall page -------------------------------------------------------------

def host_has_vsyscall():
    with open("/proc/self/maps") as f:
        return "[vsyscall]" in f.read()


@pytest.mark.skipif(not host_has_vsyscall(), reason="the host kernel has vsyscall=none")
@pytest.mark.parametrize("mode", ["calls", "misaligned", "badptr", "read"])
@pytest.mark.parametrize("variant", ["gcc64", "musl64"])
def test_vsyscall_page(variant, mode):
    native, _ = assert_same(build("gate_vsyscall.c", variant), [mode])
    if mode == "calls":
        assert native.stdout == (b"calls\ngettimeofday: 0, now\ntime: same as stored, now\n"
                                 b"getcpu: 0, cpu set, node set\nreturned\n")
    else:
        assert native.signal == 11


# --- CPUID and the GDT -------------------------------------------------------------

@AMD_HOST
@pytest.mark.parametrize("variant", ["gcc64", "gcc32", "musl64"])
def test_cpuid_and_gdt_as_amd(variant):
    native, _ = assert_same(build("gate_cpuid.c", variant), opts=["--cpu", "amd"])
    assert b"vendor AuthenticAMD\nsep 1\nhwcap sep agrees\nsyscall 1\n" in native.stdout
    assert b"lsl 0x7b: ok\n" in native.stdout and b"es loaded with 0x7b\n" in native.stdout


@pytest.mark.parametrize("variant,bits", [("gcc64", 64), ("gcc32", 32), ("musl64", 64)])
def test_cpuid_as_intel(variant, bits):
    r = run_sysgate(build("gate_cpuid.c", variant), opts=["--cpu", "intel"])
    assert r.status == 0, r
    # Intel reports SYSCALL only to 64-bit code (it is #UD in compat mode).
    expect = (b"vendor GenuineIntel\nsep 1\nhwcap sep agrees\nsyscall %d\nlm 1\n%d-bit code\n"
              % (1 if bits == 64 else 0, bits))
    assert r.stdout.startswith(expect), r.stdout


@pytest.mark.parametrize("variant,bits", [("gcc64", 64), ("gcc32", 32)])
def test_cpuid_as_i486(variant, bits):
    r = run_sysgate(build("gate_cpuid.c", variant), opts=["--cpu", "i486"])
    assert r.status == 0, r
    expect = (b"vendor GenuineIntel\nsep 0\nhwcap sep agrees\nsyscall %d\n"
              % (1 if bits == 64 else 0))
    assert r.stdout.startswith(expect), r.stdout


@pytest.mark.parametrize("variant", ALL)
def test_tls_descriptors(variant):
    native, _ = assert_same(build("tls_desc.c", variant))
    if variant == "gcc32":
        assert b"through %gs: 0x5eedf00d\n" in native.stdout, native
        assert b"not present: -22\n" in native.stdout
    else:
        assert native.stdout.endswith(b"set: -38\n"), native


# --- the return path: Linux's rules, check by check --------------------------------

def _ptregs64(**kw):
    ip = kw.pop("ip", 0x401000)
    flags = kw.pop("flags", 0x246)
    r = PtRegs("syscall", "x86_64", 39, (0,) * 6, ip, flags, None,
               kw.pop("cs", USER_CS), kw.pop("ss", USER_DS))
    r.cx = kw.pop("cx", ip)
    r.r11 = kw.pop("r11", flags)
    assert not kw
    return r


TF, RF, VM, DF, AC, IF = 1 << 8, 1 << 16, 1 << 17, 1 << 10, 1 << 18, 1 << 9


@pytest.mark.parametrize("change,allowed", [
    ({}, True),
    ({"cx": 0x401002}, False),                 # SYSRET loads RIP from RCX
    ({"r11": 0x247}, False),                   # and RFLAGS from R11
    ({"cs": USER32_CS}, False),                # only the flat 64-bit selectors
    ({"ss": 0x3B}, False),
    ({"ip": TASK_SIZE_MAX - 1, "cx": TASK_SIZE_MAX - 1}, True),
    ({"ip": TASK_SIZE_MAX, "cx": TASK_SIZE_MAX}, False),        # non-canonical on Intel
    ({"ip": 1 << 47, "cx": 1 << 47}, False),
    ({"ip": 0xFFFFFFFFFF600000, "cx": 0xFFFFFFFFFF600000}, False),
    ({"flags": 0x246 | TF, "r11": 0x246 | TF}, False),          # would trap in the kernel
    ({"flags": 0x246 | RF, "r11": 0x246 | RF}, False),          # SYSRET cannot restore RF
    ({"flags": 0x246 | DF | AC, "r11": 0x246 | DF | AC}, True),
    ({"flags": 0x246 | VM, "r11": 0x246 | VM}, True),           # not one SYSRET checks
])
def test_sysret_allowed(change, allowed):
    assert sysret_allowed(_ptregs64(**change)) is allowed


LANDING = 0xF7FC1575


def _ptregs32(**kw):
    r = PtRegs("sysenter", "i386", 20, (0,) * 6, kw.pop("ip", LANDING), kw.pop("flags", 0x246),
               0xFFFFD000, kw.pop("cs", USER32_CS), kw.pop("ss", USER_DS))
    assert not kw
    return r


@pytest.mark.parametrize("change,allowed", [
    ({}, True),
    ({"ip": LANDING + 1}, False),              # the frame was rewritten: IRET
    ({"cs": USER_CS}, False),
    ({"ss": 0x3B}, False),
    ({"flags": 0x246 | TF}, False),
    ({"flags": 0x246 | RF}, False),
    ({"flags": 0x246 | VM}, False),
    ({"flags": 0x246 | DF | AC | IF}, True),
])
def test_sysretl_allowed(change, allowed):
    assert sysretl_allowed(_ptregs32(**change), LANDING) is allowed


# --- the return path of real guests, in process ------------------------------------

def run_traced(exe, args, cpu):
    """Run exe in this process with the gate's trace hook: each crossing's
    pt_regs and the user registers as its return left them."""
    from sysgate.machine import Machine
    m = Machine(cpu=cpu, seed=1)
    m.load(exe, [exe, *args])
    seen = []
    m.gate.trace = lambda regs: seen.append((regs, m.thread.read_regs()))
    status = m.run()
    return m, status, seen


def test_syscall64_returns_by_sysretq_and_int80_by_iret():
    _m, status, seen = run_traced(build("gate_regs64.c", "gcc64"), [], "intel")
    assert status == ("exit", 0)
    syscalls = [(r, u) for r, u in seen if r.gate == "syscall" and r.exit_path != "none"]
    int80 = [(r, u) for r, u in seen if r.gate == "int80"]
    assert len(syscalls) > 10 and len(int80) >= 7
    stepped = 0
    for regs, user in syscalls:
        assert regs.abi == "x86_64"
        if regs.full is not None:                   # rt_sigreturn
            assert regs.exit_path == "iret"
            continue
        if regs.flags & TF:                         # single-stepped: IRET
            assert regs.exit_path == "iret"
            stepped += 1
        else:
            assert regs.exit_path == "sysretq", regs.orig_ax
        # What SYSRET needs and what it leaves, and what IRET gives back
        # from pt_regs after SYSCALL: RCX = RIP, R11 = RFLAGS.
        assert user["rcx"] == regs.ip and user["r11"] == regs.flags
        assert user["rax"] == regs.ax & MASK64
    assert stepped == 1
    for regs, user in int80:
        assert regs.abi == "i386" and regs.exit_path == "iret"
        assert user["rax"] == regs.ax & MASK64          # sign-extended: -9 is 2^64 - 9
    assert any(r.ax == -9 for r, _ in int80)
    # The number is the low 32 bits of RAX.
    assert [r.ax > 0 for r, _ in syscalls if r.orig_ax == 39].count(True) >= 3


def test_sysenter_returns_by_sysretl_on_intel():
    _m, status, seen = run_traced(_regs32_exe(), ["vsys-sysenter"], "intel")
    assert status == ("exit", 0)
    fast = [(r, u) for r, u in seen if r.gate == "sysenter" and r.exit_path != "none"]
    assert len(fast) >= 8
    for regs, user in fast:
        assert regs.abi == "i386" and regs.exit_path == "sysretl"
        # SYSRETL takes EIP from ECX; ESP is the one the vDSO convention
        # passed in EBP; EBP gets the sixth argument back from [esp].
        assert user["rcx"] & M32 == regs.ip
        assert user["rsp"] & M32 == regs.sp
        assert user["rbp"] & M32 == regs.args[5] & M32
        assert user["rax"] & M32 == regs.ax & M32
    assert not [r for r, _ in seen if r.gate == "syscall"]


@AMD_HOST
def test_compat_syscall_returns_by_sysretl_on_amd():
    _m, status, seen = run_traced(_regs32_exe(), ["vsys-syscall"], "amd")
    assert status == ("exit", 0)
    fast = [(r, u) for r, u in seen if r.gate == "syscall" and r.exit_path != "none"]
    assert len(fast) >= 8
    for regs, user in fast:
        assert regs.abi == "i386" and regs.exit_path == "sysretl"
        assert user["rcx"] & M32 == regs.ip
        assert user["rbp"] & M32 == regs.args[5] & M32


def test_int80_from_32bit_code_returns_by_iret():
    _m, status, seen = run_traced(_regs32_exe(), ["int80"], "intel")
    assert status == ("exit", 0)
    int80 = [r for r, _ in seen if r.gate == "int80"]
    assert len(int80) >= 8 and all(r.exit_path == "iret" for r in int80)


def test_vsyscall_returns_by_iret():
    _m, status, seen = run_traced(build("gate_vsyscall.c", "gcc64"), ["calls"], "intel")
    assert status == ("exit", 0)
    vsys = [(r, u) for r, u in seen if r.gate == "vsyscall"]
    assert [r.orig_ax for r, _ in vsys] == [96, 201, 309]
    for regs, user in vsys:
        # Returned as RET would: to the caller, with the return address popped.
        assert regs.exit_path == "iret" and regs.ax >= 0
        assert user["rip"] == regs.ip and user["rsp"] == regs.sp
        assert user["rax"] == regs.ax


@pytest.mark.parametrize("gate,cpu", [("syscall", "amd"), ("sysenter", "intel")])
def test_fast_gate_efault_returns_by_iret(gate, cpu):
    """The sixth argument cannot be read from the user stack: -EFAULT,
    through IRET, with EBP zeroed by the failed get_user()."""
    m, status, seen = run_traced(_regs32_exe(), [f"efault-{gate}"], cpu)
    bad = [(r, u) for r, u in seen if r.gate == gate and r.ax == -14]
    assert len(bad) == 1, [(r.gate, r.orig_ax, r.ax) for r, _ in seen]
    regs, user = bad[0]
    assert regs.orig_ax == 20 and regs.exit_path == "iret"
    assert regs.sp == 0x10 and user["rsp"] & M32 == 0x10
    assert user["rbp"] & M32 == 0
    if m.gate.landing_pad is not None:
        # Back in the vDSO, whose pops at ESP 0x10 fault, as natively.
        assert status[:2] == ("signal", 11)
    else:
        assert status == ("exit", 0)


@AMD_HOST
def test_fast_gate_efault_matches_native_with_vdso():
    from sysgate.machine import Machine
    m = Machine(cpu="amd")
    m.load(_regs32_exe(), [_regs32_exe(), "int80"])
    if m.gate.landing_pad is None:
        pytest.skip("no vDSO: the -EFAULT return has no landing pad to go back to")
    assert_same(_regs32_exe(), ["efault-syscall"], opts=["--cpu", "amd"])


@pytest.mark.parametrize("variant", ALL)
def test_start_segments(variant):
    native, _ = assert_same(build("start_segments.c", variant))
    assert native.stdout.startswith(b"ds 0 es 0 " if "64" in variant else b"ds 0x2b es 0x2b ")
