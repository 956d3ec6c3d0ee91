"""The probe's operations under emulation: the same machine code the host
probe times natively, wrapped in a minimal static x86-64 ELF built here (no
compiler needed) and run under sysgate. Cost per operation is the slope
between two loop counts, so process start-up cancels out."""
import os
import struct
import tempfile
import time

from . import host

BASE = 0x400000


def make_elf(code):
    """A static ET_EXEC whose one PT_LOAD (R+X) holds ELF header, program
    header and code; entry at the code."""
    ehsize, phsize = 64, 56
    entry = BASE + ehsize + phsize
    image_size = ehsize + phsize + len(code)
    eh = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8) + struct.pack(
        "<HHIQQQIHHHHHH", 2, 62, 1, entry, ehsize, 0, 0, ehsize, phsize, 1, 0, 0, 0)
    ph = struct.pack("<IIQQQQQQ", 1, 5, 0, BASE, BASE, image_size, image_size, 0x1000)
    return eh + ph + code, entry


def _program(body, n):
    """_start: mov rdi, n; call loop; exit_group(0); then the loop function."""
    start = b"\x48\xbf" + struct.pack("<Q", n) + b"\xe8" + struct.pack("<i", 9) \
        + bytes.fromhex("b8e7000000" "31ff" "0f05")
    return start + host._loop(body) + b"\xc3"


def time_emulated(body, n, cpu="intel", patch=None):
    """Seconds to run the loop n times under sysgate (whole run)."""
    from ..machine import Machine
    data, _entry = make_elf(_program(body, n))
    with tempfile.NamedTemporaryFile(suffix=".elf", delete=False) as f:
        f.write(data)
        path = f.name
    os.chmod(path, 0o700)       # execve runs only what may be executed
    try:
        m = Machine(cpu=cpu, seed=1)
        m.load(path, [path], envp=[])
        if patch:
            patch(m)
        t0 = time.perf_counter()
        status = m.run()
        dt = time.perf_counter() - t0
    finally:
        os.unlink(path)
    if status != ("exit", 0):
        raise RuntimeError(f"benchmark guest ended with {status}")
    return dt


VDSO_PLACEHOLDER = 0x5D5D5D5D5D5D5D5D


def _patch_vdso_call(m):
    """Point the loop's call at the guest's own __vdso_clock_gettime."""
    code = BASE + 64 + 56
    data = m.task.mm.read(code, 512)
    at = data.find(VDSO_PLACEHOLDER.to_bytes(8, "little"))
    m.task.mm.write_kernel(code + at, m.vdso.symbols["__vdso_clock_gettime"].to_bytes(8, "little"))


def measure(n=20_000, repeat=3, cpu="intel"):
    """ns per operation under sysgate, for the host probe's operations: the
    slope between the best of `repeat` runs of k and of 2k iterations, k
    larger for the operations that never leave user mode (so that their
    loops outlast the noise of a run's start and end)."""
    bodies = host._bodies(VDSO_PLACEHOLDER)
    bodies.pop("loop")
    out = {}
    for name, body in bodies.items():
        patch = _patch_vdso_call if name.startswith("vDSO") else None
        k = n * (50 if name in ("function call", "vDSO clock_gettime") else 1)
        t1 = min(time_emulated(body, k, cpu, patch) for _ in range(repeat))
        t2 = min(time_emulated(body, 2 * k, cpu, patch) for _ in range(repeat))
        out[name] = max((t2 - t1) / k, 0.0) * 1e9
    return out
