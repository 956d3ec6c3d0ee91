"""Unicorn 2.1.4 patched in memory, at run time, where its own code costs
sysgate most: each translated block's exit check made inline, and the
translator's scan of the whole TLB at every new block made a look at the
entries that can hold the block's pages.

The exit check at each translated block's start, made inline.

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
nothing is patched and blocks keep the call.

A stop asked from another thread goes through the same stub. uc_emu_stop
called there sets Unicorn's stop_request at any point of a block, and
the instruction helpers that call hooks (SYSCALL, SYSENTER, CPUID, IN,
OUT) leave their hook loop at the first hook after which they find it
set: the gate's SYSCALL hook comes after the machine-code ones put at
the list's head (cpu.regbatch), so a system call was skipped, RAX left
holding its number (seen: a futex returned 202 under a timer storm); a
CPUID was answered by Unicorn's model. Instead the other thread names
the engine in the stub's page and makes icount_decr negative, as
cpu_exit does (stop_at_block_start); the stub, at the next block's start,
calls uc_emu_stop for it on the CPU's own thread, where no helper is
half-way through its hooks, and the block exits as for any stop. One
that lands as emulation restarts (cpu_exec clears the counter) is lost:
its callers repeat it, as they did uc_emu_stop's.

The TLB scan: each new translated block makes its pages' TLB entries
take stores through the slow path again, so a store to code already
translated is seen (tlb_reset_dirty_by_vaddr). Unicorn looks at every
entry of the three MMU modes' TLBs for that (a few thousand, about a
microsecond per block, 6% of a python3 start); an entry for a page can
only sit at that page's index of its mode's table or in the mode's
eight-entry victim TLB, so the replacement looks at those alone and sets
the same flag on the same entries. The function's first instruction
becomes a jump to it.

SYSGATE_NO_UCPATCH=1 leaves Unicorn as it is.
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
#         jmp e8check; nop x3  (below: the call's form first)
#   back:                                             ; movabs rdi, imm64
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
#   requested: test esi,esi; jne done; jmp stop_request; nop
#   tramp: mov rdi,[rbp+ENV_UC]; xor esi,esi; jmp stub
_CODE = bytes.fromhex(
    "4c8b87b8010000418b80408a000085c00f8880000000488b1424e961040000909090"
    "48397af1756d66817af933f67565807afbe8755f486342fc4801d0483b056c000000"
    "754f488b05730000004829d04883c0034863c84839c1753948c1e01048b90000ffff"
    "ffff00004821c848b905e8000000000f1f4809c8488b0d4700000048894aef488942"
    "f7c642ff00f048ff053b000000c385f675fbe96103000090488bbd7856341231f6e9"
    "52ffffff6690")
_TRAMP = 0xA0
# A stop asked from another thread (stop_at_block_start), where the stub
# finds a stop requested (icount_decr negative):
#   stop_request: cmp rdi,[want]; jne slow      ; asked for this engine?
#         mov qword [want],0
#         push rdi; call [uc_emu_stop]; pop rdi  ; Unicorn's stop, made here
#         mov r8,[rdi+0x1b8]
#   slow: jmp [helper_slow]
_STOP_AT, _WANT, _EMU_STOP = 0x400, 0x440, 0x448
# A buffer beyond a rel32 call of the helper (the second engine's: 1 GiB
# further down) calls it through a constant: movabs rdi; xor esi,esi;
# call [rip+disp32] (18 bytes), rewritten the same way with a 4-byte nop:
#   e8check: cmp byte [rdx-5],0xE8; jne far
#         cmp word [rdx-17],0xBF48; jne done; jmp back
#   far:  cmp word [rdx-18],0xBF48; cmp [rdx-16],rdi; cmp word [rdx-8],0xF633
#         cmp word [rdx-6],0x15FF (each: jne done)
#         movsxd rax,dword [rdx-4]; mov rax,[rdx+rax]; cmp rax,[helper_addr]; jne done
#         mov rax,[tramp_addr]; sub rax,rdx; add rax,4   ; tramp - (P + 14)
#         movsxd rcx,eax; cmp rcx,rax; jne done
#         shl rax,16; and rax,0xFFFFFFFF0000; or rax,0x1F0F00000000E805
#         mov rcx,[first8]; mov [rdx-18],rcx; mov [rdx-10],rax
#         mov word [rdx-2],0x0040                        ; nopl [rax+0]
#         lock inc qword [patched]
#   done: ret
_FAR_AT = 0x480
_FAR_CODE = bytes.fromhex(
    "807afbe8751166817aef48bf0f8585000000e98bfbffff66817aee48bf757848397af075726681"
    "7af833f6756a66817afaff157562486342fc488b0402483b05ecfbffff7551488b05f3fbffff48"
    "29d04883c0044863c84839c1753b48c1e01048b90000ffffffff00004821c848b905e800000000"
    "0f1f4809c8488b0dc7fbffff48894aee488942f666c742fe4000f048ff05b9fbffffc3")
_STOP_CODE = bytes.fromhex("483b3d39000000751a48c7052c0000000000000057ff152d0000005f"
                           "4c8b87b8010000ff258ffcffff")
_ENV_UC_DISP = 0xA3
_HELPER_ADDR, _HELPER_SLOW, _TRAMP_ADDR, _FIRST8, _PATCHED = 0xB0, 0xB8, 0xC0, 0xC8, 0xD0

# The scan, at _SCAN_AT in the same page (rdi = cpu, rsi = start, rdx =
# length; env = cpu->env_ptr at 0x128; mode m's fast TLB {mask, table} at
# env - 0x40 + 16m, its victim TLB's addr_writes from env - 0x838 + 0x2b8m,
# 64 bytes apart; entries 64 bytes, addr_write at 8):
#   for each of the 3 modes: the entries at the indexes of start's page and
#   of start + length - 1's, then the 8 victim entries, each:
#     if not addr_write & 0xE40 and (addr_write & -4096) - start < length:
#         addr_write |= 0x400 (TLB_NOTDIRTY)
_SCAN_CODE = bytes.fromhex(
    "5341544c8b9f280100004d8d53c04d8d8bc8f7ffffb903000000488d7c16ff48c1ef"
    "0c498b0248c1e8064d8b42084989f349c1eb0c4921c349c1e3064f8d5c1808498b1b"
    "f7c3400e0000751c4989dc4981e400f0ffff4929f44939d4730a4881cb0004000049"
    "891b4989fb4921c349c1e3064f8d5c1808498b1bf7c3400e0000751c4989dc4981e4"
    "00f0ffff4929f44939d4730a4881cb0004000049891b4d8d19498b1bf7c3400e0000"
    "751c4989dc4981e400f0ffff4929f44939d4730a4881cb0004000049891b4d8d5940"
    "498b1bf7c3400e0000751c4989dc4981e400f0ffff4929f44939d4730a4881cb0004"
    "000049891b4d8d9980000000498b1bf7c3400e0000751c4989dc4981e400f0ffff49"
    "29f44939d4730a4881cb0004000049891b4d8d99c0000000498b1bf7c3400e000075"
    "1c4989dc4981e400f0ffff4929f44939d4730a4881cb0004000049891b4d8d990001"
    "0000498b1bf7c3400e0000751c4989dc4981e400f0ffff4929f44939d4730a4881cb"
    "0004000049891b4d8d9940010000498b1bf7c3400e0000751c4989dc4981e400f0ff"
    "ff4929f44939d4730a4881cb0004000049891b4d8d9980010000498b1bf7c3400e00"
    "00751c4989dc4981e400f0ffff4929f44939d4730a4881cb0004000049891b4d8d99"
    "c0010000498b1bf7c3400e0000751c4989dc4981e400f0ffff4929f44939d4730a48"
    "81cb0004000049891b4983c2104981c1b8020000ffc90f8509feffff415c5bc3")
_SCAN_AT = 0x100
# The function as built in the 2.1.4 wheel: its register moves, env from
# cpu + 0x128, the f and victim TLB offsets; and its loop's strides.
_SCAN_HEAD = bytes.fromhex("4989f94989f04889d74d8b99280100004d8d53c0498db3c8f7ffff4983eb10")
_SCAN_TAIL = (0x1B6, bytes.fromhex("4881c6b80200004983c2104c39de"))

_PAGE = 4096
_state = {}     # "page": the stub's page; "scan": the TLB scan replaced; "refused": why not


def patched_blocks():
    """How many block starts were rewritten so far in this process (None:
    the inline check is not in use)."""
    page = _state.get("page")
    return None if page is None else ctypes.c_uint64.from_address(page + _PATCHED).value


def stop_at_block_start(uc):
    """A function of no argument that, called from any thread, stops uc's
    CPU at its next block's start (see above); None when the stub is not
    in use (uc_emu_stop from another thread is then not safe: cpu.preempt
    keeps the block hook)."""
    page = _state.get("page")
    if page is None:
        return None
    ucp = ctypes.cast(uc._uch, ctypes.c_void_p).value
    cpu = ctypes.c_uint64.from_address(ucp + _UC_CPU).value
    want = ctypes.c_uint64.from_address(page + _WANT)
    high = ctypes.c_int16.from_address(cpu + _CPU_ICOUNT + 2)     # icount_decr.u16.high

    def stop():
        want.value = ucp        # first: x86 keeps the two stores in order
        high.value = -1
    return stop


def install(uc):
    """Patch Unicorn for every engine of this process (uc: an initialised
    engine): the block-start check and the translator's TLB scan, each
    only where its bytes are the known ones. True when the check is
    inline; the first call decides (about 0.5 ms), later ones only answer."""
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
    if os.environ.get("SYSGATE_NO_UCPATCH"):
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
    buffers = _rwx_buffers(maps)
    if not buffers:
        return "no writable code buffer"
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    # Just below this engine's code buffer: each engine has its own (1 GiB,
    # mapped top-down), so the next engine's (an exec's spare CPU, made
    # while this one runs) lands just below this page, within a rel32 call
    # of it too. Near the library instead, a second engine's buffer lay
    # 2 GiB away: no block of an exec'd program was rewritten.
    page = _map_near(libc, min(buffers), maps)
    if page is None:
        return "no page within reach of the code buffer"
    code = bytearray(_PAGE)
    code[:len(_CODE)] = _CODE
    struct.pack_into("<i", code, _ENV_UC_DISP, env_uc)
    struct.pack_into("<QQQ", code, _HELPER_ADDR, helper, helper + _HELPER_EXIT, page + _TRAMP)
    code[_FIRST8:_FIRST8 + 8] = b"\x83\xbd" + struct.pack("<i", disp) + b"\x00\x79"
    code[_SCAN_AT:_SCAN_AT + len(_SCAN_CODE)] = _SCAN_CODE
    code[_STOP_AT:_STOP_AT + len(_STOP_CODE)] = _STOP_CODE
    code[_FAR_AT:_FAR_AT + len(_FAR_CODE)] = _FAR_CODE
    struct.pack_into("<Q", code, _EMU_STOP, ctypes.cast(_lib.uc_emu_stop, ctypes.c_void_p).value)
    ctypes.memmove(page, bytes(code), len(code))
    if libc.mprotect(page, _PAGE, 7):       # the stub counts in its own page
        return "the stub's page cannot be made executable"
    if not _jump(libc, helper, page):
        return "the helper's page cannot be written"
    _state["page"] = page
    scan = ctypes.cast(_lib.tlb_reset_dirty_by_vaddr_x86_64, ctypes.c_void_p).value
    at, tail = _SCAN_TAIL
    if (ctypes.string_at(scan, len(_SCAN_HEAD)) == _SCAN_HEAD
            and ctypes.string_at(scan + at, len(tail)) == tail):
        _state["scan"] = _jump(libc, scan, page + _SCAN_AT)
    return None


def _jump(libc, func, target):
    """func's first bytes become a jump to target: movabs rax, target;
    jmp rax (both functions clobber rax before their first use of it)."""
    jump = b"\x48\xb8" + struct.pack("<Q", target) + b"\xff\xe0"
    first = func & ~(_PAGE - 1)
    span = (func + len(jump) - first + _PAGE - 1) & ~(_PAGE - 1)
    if libc.mprotect(first, span, 7):
        return False
    ctypes.memmove(func, jump, len(jump))
    libc.mprotect(first, span, 5)
    return True


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


def _rwx_buffers(maps):
    """Where the engines' code buffers (large anonymous RWX mappings) start."""
    return [lo for lo, hi, perms, name in maps
            if perms.startswith("rwx") and hi - lo >= 1 << 20 and not name]


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
