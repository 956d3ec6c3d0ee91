#!/usr/bin/env python3
"""What a machine-code fast path for system calls costs on bare Unicorn
(issue #13's moonshot): a SYSCALL hook in machine code, first in
Unicorn's list, that answers a call whose result is a per-process
constant (getpid) and makes Unicorn pass over the Python hook for that one
instruction; any call it does not answer goes on to the Python hook.
sysgate's own (cpu.regbatch.ConstantCalls, with the checks this one
leaves out) is measured by run.py's syscall64 row; its getppid row
(syscall64-py) is the same crossing through Python.

How the Python hook is passed over: Unicorn 2.1.4's helper_syscall walks
the instruction hooks and calls each whose `insn` is UC_X86_INS_SYSCALL.
The stub, called first, sets the Python hook's `insn` (struct hook, at
the handle uc_hook_add returned: int type, int insn, ...) back to SYSCALL
on every call, and to 0 (UC_X86_INS_INVALID, which no helper matches)
when it has answered.

  python3 bench/fastpath.py [--calls N]

Rows (us per call, slopes as in run.py): bare Unicorn with the ctypes
floor's hook; the same with the stub answering; the same with the stub in
front but declining (enabled = 0: what it adds to every other call).
"""
import argparse
import ctypes
import gc
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from unicorn import Uc, UC_ARCH_X86  # noqa: E402
from unicorn import unicorn_const as UC  # noqa: E402
from unicorn import x86_const as X  # noqa: E402

import run as bench  # noqa: E402
from sysgate.cpu.regbatch import RegFile, _hook_insert_flag  # noqa: E402
from sysgate.cpu.ucraw import _uc_hook_add, code_page  # noqa: E402

# hook(uc, data), data = {env, struct hook *python_hook, u32 enabled, u32 nr, u64 value}:
#     mov rax, [rsi]                  ; env
#     mov rdx, [rsi+8]                ; the Python hook's struct hook
#     mov dword [rdx+4], 699          ; its insn: SYSCALL again
#     cmp dword [rsi+16], 0           ; enabled?
#     je 1f
#     mov ecx, [rax]                  ; EAX: the number
#     cmp ecx, [rsi+20]
#     jne 1f
#     mov rcx, [rsi+24]
#     mov [rax], rcx                  ; RAX = the answer
#     mov dword [rdx+4], 0            ; the Python hook passed over, this once
# 1:  ret
STUB = bytes.fromhex("488b06488b5608c74204bb020000837e100074158b083b4e14750e488b4e18"
                     "488908c7420400000000c3")


class StubData(ctypes.Structure):
    _fields_ = [("env", ctypes.c_uint64), ("hook", ctypes.c_uint64), ("enabled", ctypes.c_uint32),
                ("nr", ctypes.c_uint32), ("value", ctypes.c_uint64)]


def install_stub(uc, env, python_hook, nr, value, enabled=1):
    """The stub first in uc's instruction hooks; returns its data (keep it)."""
    hook = ctypes.c_int32.from_address(python_hook + 4)
    assert hook.value == X.UC_X86_INS_SYSCALL, "not the SYSCALL hook's struct hook"
    data = StubData(env, python_hook, enabled, nr, value)
    insert = _hook_insert_flag(uc)
    assert insert is not None
    handle = ctypes.c_size_t()
    insert.value = True
    try:
        err = _uc_hook_add(uc._uch, ctypes.byref(handle), ctypes.c_int(UC.UC_HOOK_INSN),
                           ctypes.c_void_p(code_page(STUB)),
                           ctypes.c_void_p(ctypes.addressof(data)), ctypes.c_uint64(1),
                           ctypes.c_uint64(0),
                           ctypes.c_int(X.UC_X86_INS_SYSCALL))
    finally:
        insert.value = False
    assert err == 0, err
    uc._fastpath_stub = (data, handle)
    return data


def time_bare(n, stub):
    """The ctypes floor's loop; stub: None, "on" or "off"."""
    mode, loop = bench.FLOOR_CODE["syscall64"]
    uc = Uc(UC_ARCH_X86, mode)
    base = 0x400000
    uc.mem_map(base, 0x1000)
    uc.mem_write(base, loop)
    val = ctypes.c_uint64(1234)
    where = ctypes.addressof(val)
    calls = [0]

    def hook(uch, _):
        calls[0] += 1
        bench._uc_reg_write(uch, X.UC_X86_REG_RAX, where)
    cb = bench._HOOK_INSN_CB(hook)
    handle = ctypes.c_size_t()
    err = _uc_hook_add(uc._uch, ctypes.byref(handle), ctypes.c_int(UC.UC_HOOK_INSN),
                       ctypes.cast(cb, ctypes.c_void_p), None, ctypes.c_uint64(1),
                       ctypes.c_uint64(0), ctypes.c_int(X.UC_X86_INS_SYSCALL))
    assert err == 0
    uc.reg_write_batch([(X.UC_X86_REG_RDI, n), (X.UC_X86_REG_RAX, 0)])
    if stub is not None:
        rf = RegFile.find(uc)
        install_stub(uc, ctypes.addressof(rf._env), handle.value, 39, 1234,
                     enabled=int(stub == "on"))
    gc.collect()
    t0 = bench._clock()
    uc.emu_start(base, base + len(loop))
    dt = bench._clock() - t0
    assert uc.reg_read(X.UC_X86_REG_RAX) == 1234
    assert calls[0] == (0 if stub == "on" else n), (stub, calls[0], n)
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=200_000)
    opts = ap.parse_args()
    n1, n2 = 1000, 1000 + opts.calls
    rows = [
        ("bare Unicorn, ctypes hook (floor-ctypes)", lambda _, n: time_bare(n, None)),
        ("bare Unicorn, stub answers", lambda _, n: time_bare(n, "on")),
        ("bare Unicorn, stub declines", lambda _, n: time_bare(n, "off")),
    ]
    for name, fn in rows:
        s = bench.slope(fn, None, n1, n2, 3)
        print(f"{name:<42} {s * 1e6:7.3f} us")


if __name__ == "__main__":
    main()
