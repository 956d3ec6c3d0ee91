"""Two fields of Unicorn's engine struct that its API does not reach: the
switch that leaves the exit check after every memory access out of
translated code, and the exact address of the access a refused TLB fill
stopped.

Unicorn 2.1.4 translates a call to helper_check_exit_request after every
guest load and store (and after every instruction-level code hook), so
that a uc_emu_stop asked from a hook takes effect after the instruction.
That call is a fifth to a half of the cost of memory-heavy guest code. The
same check is also made at the start of every translation block, and that
one is all sysgate needs: its hooks that stop the CPU run at instructions
that end their block (SYSCALL, SYSENTER, INT, an exception), and a stop
from another thread is then exact (taken before a block's first
instruction, never after an instruction's store as the per-access check
does). Unicorn has no API for it; its translator skips the per-access
check while the uc_struct's no_exit_request flag is set (kept for ARM's IT
blocks), a flag read at translation time. The flag is found by the known
values around it in the struct, and only for the Unicorn release whose
layout this was read from; anywhere else the switch is absent and the
engine keeps the check (correct, only slower).

Counted runs (a debugger's single step, --seed slices) and instruction
hooks that stop the CPU (a debugger's breakpoints) need the per-access
check: the engine turns it back on for them (Engine.exit_checks), and
every change flushes the translated code, which holds the choice.

Without the per-access check a store that Unicorn refuses after its TLB
fill (an unmapped page, a page without the right) no longer stops at the
instruction: it only asks for a stop, and the rest of the block runs. A
refused fill stops at once (cputlb's raise_mmu_exception, PC restored),
so stores the page does not allow are refused there; the hook sees only
the page, and invalid_addr holds the byte address."""
import ctypes
import struct

import unicorn

_RELEASE = "2.1.4"
# uc_struct, from target_page_size on: target_page_size (u32 4096),
# target_page_align (u32 4095), qemu_host_page_size and
# qemu_real_host_page_size (u64 4096 each), qemu_icache_linesize,
# context_content, cpu_context_size (ints), next_pc (u64), then the bools
# hook_insert, first_tb, no_exit_request, init_done.
_ANCHOR = struct.pack("<IIQQ", 4096, 4095, 4096, 4096)
_FLAG_AFTER_ANCHOR = 48 + 2
# Before the anchor: invalid_addr (u64), invalid_error, use_exits (ints),
# exits[UC_MAX_NESTED_LEVEL = 64] (u64), ctl_exits (pointer), thumb (int,
# padded), mapped_blocks (pointer), two u32 counts, qemu_thread_data.
_INVALID_ADDR_BEFORE_ANCHOR = 16 + 64 * 8 + 8 + 8 + 8 + 8 + 8
_SEARCH = 0x2000


def engine_fields(uc):
    """(no_exit_request as a ctypes.c_bool, invalid_addr as a
    ctypes.c_uint64) of an initialised engine, or None when this Unicorn's
    layout is not the one known here."""
    if getattr(unicorn, "__version__", "") != _RELEASE:
        return None
    base = ctypes.cast(uc._uch, ctypes.c_void_p).value
    raw = ctypes.string_at(base, _SEARCH)
    at = raw.find(_ANCHOR)
    if at < _INVALID_ADDR_BEFORE_ANCHOR or raw.find(_ANCHOR, at + 1) >= 0:
        return None
    flag = at + _FLAG_AFTER_ANCHOR
    hook_insert, first_tb, no_exit, init_done = raw[flag - 2:flag + 2]
    if (hook_insert, no_exit, init_done) != (0, 0, 1) or first_tb > 1:
        return None
    return (ctypes.c_bool.from_address(base + flag),
            ctypes.c_uint64.from_address(base + at - _INVALID_ADDR_BEFORE_ANCHOR))
