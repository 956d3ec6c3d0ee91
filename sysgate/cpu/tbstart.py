"""The exit check at each translated block's start, made inline.

Unicorn 2.1.4 begins every translated block with a call:
    movabs rdi, <uc>; xor esi, esi; call helper_check_exit_request
(17 bytes), a function that tests whether a stop was asked for (a negative
icount_decr) and leaves the block if so. Upstream QEMU tests the counter
inline instead; the call is about a tenth of gzip's time under sysgate and
more of a tight loop's. Unicorn cannot be told to do otherwise, so each
block's call is rewritten in place the first time it runs:
    cmp dword [rbp + disp32], 0; jns +5; call tramp; nopl [rax]
(rbp holds the CPU's env in translated code; icount_decr lies disp32 from
it). Only when a stop is asked for does the block call tramp, which calls
the helper as the block did, so the exit path (its PC restore from the
return address, which stays inside the block's first instruction's code)
is Unicorn's own.

How: the helper's first instruction becomes a jump to a stub of ours that
does the helper's test and, when no stop is asked for, checks the 17 bytes
before its return address (exactly that movabs of this engine, xor, and a
call to the helper) and writes the new ones there; anything else is left as
it is, and a stop goes on into the helper's own code. Code buffers (each
engine's) are written while their CPU is inside the helper, on its own
thread: no other thread runs that code then.

All of it rests on this one build of Unicorn: the helper's bytes, the
engine's uc->cpu (0x1b8) and icount_decr (cpu + 0x8a40) offsets, the code
buffer being writable (QEMU 5's RWX buffer) and within a rel32 call of the
stub. Each is checked before anything is written; when one does not hold
nothing is patched and blocks keep the call. SYSGATE_NO_INLINE_CHECK=1
turns it off.
"""
import ctypes
import os
import struct

import unicorn
from unicorn.unicorn_py3.unicorn import uclib as _lib

_RELEASE = "2.1.4"
# The helper as built in the 2.1.4 wheel: mov r8,[rdi+0x1b8]; mov eax,
# [r8+0x8a40]; test eax,eax; jns ret; test esi,esi; je +0x20; ret.
_HELPER_HEAD = bytes.fromhex("4c8b87b8010000" "418b80408a0000" "85c0" "7904" "85f6" "740a" "c3")
_UC_CPU = 0x1B8
_CPU_ICOUNT = 0x8A40
_HELPER_EXIT = 0x20         # its exit path: r8 = cpu, rdi = uc, [rsp] = the block's return address

# stub (entered by a jump from the helper's first bytes), tramp, data:
#   stub: mov r8,[rdi+0x1b8]; mov eax,[r8+0x8a40]; test eax,eax; js requested
#         mov rdx,[rsp]                               ; P + 17
#         cmp word [rdx-17],0xBF48; jne done          ; movabs rdi, imm64
#         cmp [rdx-15],rdi; jne done                  ; ... this uc
#         cmp word [rdx-7],0xF633; jne done           ; xor esi,esi (33 F6)
#         cmp byte [rdx-5],0xE8; jne done             ; call rel32
#         movsxd rax,dword [rdx-4]; add rax,rdx
#         cmp rax,[helper_addr]; jne done             ; ... to the helper
#         mov rax,[tramp_addr]; sub rax,rdx; add rax,3    ; tramp - (P + 14)
#         movsxd rcx,eax; cmp rcx,rax; jne done       ; within rel32
#         shl rax,16; and rax,0xFFFFFFFF0000; or rax,0x1F0F00000000E805
#         mov rcx,[first8]; mov [rdx-17],rcx          ; 83 BD disp32 00 79
#         mov [rdx-9],rax; mov byte [rdx-1],0         ; 05 E8 rel32 0F 1F 00
#         lock inc qword [patched]
#   done: ret
#   requested: test esi,esi; jne done; jmp [helper_slow]
#   tramp: mov rdi,[rbp+ENV_UC]; xor esi,esi; jmp stub
_CODE = bytes.fromhex(
    "4c8b87b8010000418b80408a000085c00f8880000000488b142466817aef48bf7573"
    "48397af1756d66817af933f67565807afbe8755f486342fc4801d0483b056c000000"
    "754f488b05730000004829d04883c0034863c84839c1753948c1e01048b90000ffff"
    "ffff00004821c848b905e8000000000f1f4809c8488b0d4700000048894aef488942"
    "f7c642ff00f048ff053b000000c385f675fbff2518000000488bbd7856341231f6e9"
    "52ffffff6690")
_TRAMP = 0xA0
_ENV_UC_DISP = 0xA3
_HELPER_ADDR, _HELPER_SLOW, _TRAMP_ADDR, _FIRST8, _PATCHED = 0xB0, 0xB8, 0xC0, 0xC8, 0xD0
_SIZE = 0xD8

_PAGE = 4096
_state = {}     # "page": the stub's page, "patched": its counter; "refused": why not


def patched_blocks():
    """How many block starts were rewritten so far in this process (None:
    the inline check is not in use)."""
    page = _state.get("page")
    return None if page is None else ctypes.c_uint64.from_address(page + _PATCHED).value


def install(uc):
    """Make the block-start check inline for every engine of this process
    (uc: an initialised engine). True when in use; the first call decides
    (about 0.5 ms), later ones only answer."""
    if "page" in _state:
        return True
    if "refused" in _state:
        return False
    from .regbatch import _find_env
    try:
        env = _find_env(uc)
    except (OSError, ValueError, struct.error):
        env = None
    why = _refusal(uc, env)
    if why is not None:
        _state["refused"] = why
        return False
    return True


def _refusal(uc, env):
    if os.environ.get("SYSGATE_NO_INLINE_CHECK"):
        return "turned off"
    if getattr(unicorn, "__version__", "") != _RELEASE or env is None:
        return "another Unicorn"
    helper = ctypes.cast(_lib.helper_check_exit_request_x86_64, ctypes.c_void_p).value
    if ctypes.string_at(helper, len(_HELPER_HEAD)) != _HELPER_HEAD:
        return "another build of the helper"
    ucp = ctypes.cast(uc._uch, ctypes.c_void_p).value
    cpu = ctypes.c_uint64.from_address(ucp + _UC_CPU).value
    disp = cpu + _CPU_ICOUNT - env
    if not -(1 << 31) <= disp < 1 << 31:
        return "icount_decr out of reach"
    env_uc = _env_uc_offset(env, ucp)
    if env_uc is None:
        return "no uc pointer in env"
    maps = _maps()
    if not _rwx_buffer(maps):
        return "no writable code buffer"
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    page = _map_near(libc, helper, maps)
    if page is None:
        return "no page within reach of the helper"
    code = bytearray(_CODE) + bytes(_SIZE - len(_CODE))
    struct.pack_into("<i", code, _ENV_UC_DISP, env_uc)
    struct.pack_into("<QQQ", code, _HELPER_ADDR, helper, helper + _HELPER_EXIT, page + _TRAMP)
    code[_FIRST8:_FIRST8 + 8] = b"\x83\xbd" + struct.pack("<i", disp) + b"\x00\x79"
    ctypes.memmove(page, bytes(code), len(code))
    if libc.mprotect(page, _PAGE, 7):       # the stub counts in its own page
        return "the stub's page cannot be made executable"
    jump = b"\xe9" + struct.pack("<i", page - (helper + 5)) + b"\x66\x90"
    first = helper & ~(_PAGE - 1)
    span = (helper + len(jump) - first + _PAGE - 1) & ~(_PAGE - 1)
    if libc.mprotect(first, span, 7):
        return "the helper's page cannot be written"
    ctypes.memmove(helper, jump, len(jump))
    libc.mprotect(first, span, 5)
    _state["page"] = page
    return None


def _env_uc_offset(env, ucp):
    """Where, from env, the CPU's env keeps its engine's uc pointer."""
    fd = os.open("/proc/self/mem", os.O_RDONLY)
    try:
        data = os.pread(fd, 0x4000, env)
    finally:
        os.close(fd)
    want = struct.pack("<Q", ucp)
    at = data.find(want)
    while at >= 0 and at % 8:
        at = data.find(want, at + 1)
    return at if at >= 0 else None


def _maps():
    """(start, end, perms, name) of each of this process's mappings."""
    with open("/proc/self/maps") as f:
        text = f.read()
    out = []
    for line in text.splitlines():
        parts = line.split(None, 5)
        lo, _, hi = parts[0].partition("-")
        out.append((int(lo, 16), int(hi, 16), parts[1], parts[5] if len(parts) > 5 else ""))
    return out


def _rwx_buffer(maps):
    return any(perms.startswith("rwx") and hi - lo >= 1 << 20 and not name
               for lo, hi, perms, name in maps)


def _map_near(libc, target, maps):
    """A private read-write page within 1 GiB of target, or None."""
    spans = sorted((lo, hi) for lo, hi, _, _ in maps)
    reach = 1 << 30
    candidates = []
    for (lo0, hi0), (lo1, _) in zip(spans, spans[1:]):
        if lo1 - hi0 >= 2 * _PAGE:
            for at in (hi0 + _PAGE, lo1 - 2 * _PAGE):
                if abs(at - target) < reach:
                    candidates.append(at)
    candidates.sort(key=lambda a: abs(a - target))
    MAP_PRIVATE, MAP_ANONYMOUS, MAP_FIXED_NOREPLACE = 0x02, 0x20, 0x100000
    for at in candidates[:8]:
        got = libc.mmap(at, _PAGE, 3, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)
        if got == at:
            return got
        if got not in (None, ctypes.c_void_p(-1).value):
            libc.munmap(ctypes.c_void_p(got), _PAGE)
    return None
