"""Registers by name, and the system-call path's register traffic: a fixed
list of them read or written in one C call (RegBatch), or, on the Unicorn
release whose layout is known, read and written in place in the CPU's own
register file (RegFile), with no call into Unicorn at all."""
import ctypes
import functools
import os
import struct

import unicorn
from unicorn import unicorn_const as UC
from unicorn import x86_const as X

from .ucfields import _ANCHOR, _FLAG_AFTER_ANCHOR, _SEARCH
from .ucraw import (_lib, _uc_hook_add, _uc_reg_read_batch_q, _uc_reg_read_q,
                    _uc_reg_write_batch_q, code_page)

# Register names the entry layer uses; values are Unicorn's ids.
REG = {n.lower(): getattr(X, "UC_X86_REG_" + n) for n in (
    "RAX RBX RCX RDX RSI RDI RBP RSP R8 R9 R10 R11 R12 R13 R14 R15 "
    "RIP EFLAGS CS SS DS ES FS GS FS_BASE GS_BASE").split()}
# "sysflags": the flags a system call's entry and exit decide on (TF, IF,
# RF, VM: what Unicorn keeps in env->eflags itself); the arithmetic flags
# and DF may be missing from it (RegFile), or not (RegBatch reads EFLAGS).
REG["sysflags"] = X.UC_X86_REG_EFLAGS


def _uch_value(uch):
    return uch if isinstance(uch, int) else ctypes.cast(uch, ctypes.c_void_p).value


class RegBatch:
    """A fixed list of registers read or written in one C call. The values
    go through a memoryview of the C array: half the cost of slicing the
    ctypes array itself, on every system call."""

    def __init__(self, uch, ids):
        n = len(ids)
        self._ids = (ctypes.c_int * n)(*ids)
        self._vals = (ctypes.c_uint64 * n)()
        self._ptrs = (ctypes.c_void_p * n)(*[ctypes.addressof(self._vals) + 8 * i for i in range(n)])
        # ctypes objects made once: the quick calls convert nothing (ucraw._Quick)
        self._args = (ctypes.c_void_p(_uch_value(uch)),
                      ctypes.c_void_p(ctypes.addressof(self._ids)),
                      ctypes.c_void_p(ctypes.addressof(self._ptrs)), ctypes.c_int(n))
        self._view = memoryview(self._vals).cast("B").cast("Q")
        self._bytes = memoryview(self._vals).cast("B")
        self._pack = struct.Struct(f"<{n}Q").pack_into

    def read(self):
        _uc_reg_read_batch_q(*self._args)
        return self._view.tolist()

    def write(self, values):
        self._pack(self._bytes, 0, *values)
        _uc_reg_write_batch_q(*self._args)

    def write_status(self, values):
        """write, with Unicorn's answer: not 0 when it refused a value (a
        segment selector the CPU will not load)."""
        self._pack(self._bytes, 0, *values)
        return _uc_reg_write_batch_q(*self._args)


# Unicorn 2.1.4's CPUX86State begins: regs[16], eip, eflags, cc_dst,
# cc_src, cc_src2 (u64 each), cc_op, df, hflags, hflags2 (u32 each), then
# segs[6], SegmentCache {u32 selector; u64 base; u32 limit, flags} in the
# order ES CS SS DS FS GS. These are the fields Unicorn's own reg_read and
# reg_write use for these registers, with no side effect (a write of RIP
# through the API also ends the translation loop, which the SYSCALL and
# SYSENTER hooks need not: their block ends there).
_GPR = "rax rcx rdx rbx rsp rbp rsi rdi r8 r9 r10 r11 r12 r13 r14 r15".split()
_OFFSET = {n: 8 * i for i, n in enumerate(_GPR)}
_OFFSET.update(rip=128, sysflags=136)
_SEG = {"es": 0, "cs": 1, "ss": 2, "ds": 3, "fs": 4, "gs": 5}
_SEGS_AT = 184
_SELECTOR = {n: _SEGS_AT + 24 * i for n, i in _SEG.items()}
_SPAN = _SEGS_AT + 24 * len(_SEG)
_RELEASE = "2.1.4"
# uc_struct's function pointers run from reg_read to context_restore (38
# of them), then comes `CPUState *cpu` (include/uc_priv.h).
_CPU_AFTER_REG_READ = 38 * 8
_SEARCH_ENV = 0x10000      # env is 35 KiB into the CPU object in 2.1.4
_env_offset = []        # env's offset in the CPU object, once found


class RegFile:
    """The CPU's registers in place: Unicorn's CPUX86State, found once per
    engine. A read is one struct unpack, a write one store per register,
    and neither calls into Unicorn: the system call's whole register
    traffic costs less than one C call through ctypes. Valid while the CPU
    is stopped or inside a hook at an instruction that ends its block
    (SYSCALL, SYSENTER, an interrupt), where Unicorn keeps every register
    in this struct."""

    def __init__(self, uch, env):
        self._env = (ctypes.c_char * _SPAN).from_address(env)
        self._buf = memoryview(self._env).cast("B")
        self._q = self._buf[:_SEGS_AT].cast("Q")
        # RFLAGS computed by Unicorn (the arithmetic flags are lazy) into a
        # register of this struct: one C call, no Python value in between.
        self._uch = ctypes.c_void_p(_uch_value(uch))
        self._rflags = ctypes.c_int(X.UC_X86_REG_RFLAGS)

    @classmethod
    def find(cls, uc):
        """The register file of uc, or None where its layout is not the
        one known here (the callers then use RegBatch)."""
        if getattr(unicorn, "__version__", "") != _RELEASE:
            return None
        try:
            env = _find_env(uc)
        except (OSError, ValueError, struct.error):
            return None
        return None if env is None else cls(uc._uch, env)

    def reader(self, names):
        """A callable returning the named registers' values, a tuple in the
        order of names, which must be the struct's order (one unpack, no
        reordering); a segment register is its selector."""
        at = [_OFFSET[n] if n in _OFFSET else _SELECTOR[n] for n in names]
        if at != sorted(at):
            raise ValueError("registers out of the register file's order")
        fmt, pos = "<", 0
        for n, a in zip(names, at):
            fmt += (f"{a - pos}x" if a > pos else "") + ("I" if n in _SELECTOR else "Q")
            pos = a + (4 if n in _SELECTOR else 8)
        # A C callable: no Python frame between the caller and the unpack.
        return functools.partial(struct.Struct(fmt).unpack_from, self._buf)

    def env_address(self):
        """Where CPUX86State is (the constant calls' stub reads it)."""
        return ctypes.addressof(self._env)

    def gprs(self):
        """The general registers in place, a memoryview of 16 unsigned
        64-bit values in Linux's numbering (rax rcx rdx rbx rsp rbp rsi rdi
        r8-r15) then RIP: a store is the write, with no call at all (RIP's
        without ending the translation loop, see the class)."""
        return self._q

    def writer(self, names):
        """A callable(values) storing the named general registers and RIP
        (RIP without ending the translation loop: see the class)."""
        # One store per register, unrolled: a loop over them costs as much
        # again as the stores.
        body = "; ".join(f"q[{_OFFSET[n] // 8}] = values[{k}]" for k, n in enumerate(names))
        scope = {"q": self._q}
        exec(f"def write(values): {body}", scope)
        return scope["write"]

    def rflags_into(self, name):
        """A callable storing RFLAGS, all of it, into register name and
        returning it (SYSCALL's R11)."""
        where = ctypes.c_void_p(ctypes.addressof(self._env) + _OFFSET[name])
        args, q, i = (self._uch, self._rflags, where), self._q, _OFFSET[name] // 8

        def rflags():
            _uc_reg_read_q(*args)
            return q[i]
        return rflags

    def syscall_saves(self, uc):
        """Have Unicorn itself do what the SYSCALL instruction does to RCX
        and R11 in 64-bit code (the return address, RFLAGS), before the
        gate's Python hook runs: a hook in machine code put first in the
        instruction hooks' list (from any code segment but USER32_CS, as
        the gate sends those to do_syscall_64). True when installed; False
        leaves it to the gate (a C call for RFLAGS, whose arithmetic flags
        Unicorn computes lazily)."""
        if getattr(uc, "_sysgate_syscall_saves", None) is not None:
            return True         # this Unicorn has it (an engine used again)
        data = _SavesData(ctypes.addressof(self._env),
                          ctypes.cast(_lib.uc_reg_read, ctypes.c_void_p).value,
                          X.UC_X86_REG_RFLAGS)
        handle = _first_syscall_hook(uc, _SAVES_CODE, data)
        if handle is None:
            return False
        uc._sysgate_syscall_saves = (data, handle)      # alive as long as the engine
        return True


# The SYSCALL saves hook (RegFile.syscall_saves), hook(uc, data), with
# data = {env, uc_reg_read, UC_X86_REG_RFLAGS}:
#     mov rax, [rsi]                  ; env
#     cmp dword [rax + 208], 0x23     ; CS: not from USER32_CS (compat
#     je 1f                           ;   SYSCALL and its #UD keep theirs)
#     mov rdx, [rax + 128]            ; RIP, on the instruction
#     add rdx, 2
#     mov [rax + 8], rdx              ; RCX = the return address
#     lea rdx, [rax + 88]             ; &R11
#     mov rcx, [rsi + 8]
#     mov esi, [rsi + 16]
#     jmp rcx                         ; uc_reg_read(uc, RFLAGS, &R11)
# 1:  ret
_SAVES_CODE = bytes.fromhex("488b0683b8d000000023741c488b90800000004883c20248895008"
                            "488d5058488b4e088b7610ffe1c3")


class _SavesData(ctypes.Structure):
    _fields_ = [("env", ctypes.c_uint64), ("reg_read", ctypes.c_uint64), ("regid", ctypes.c_int)]


def _first_syscall_hook(uc, code, data, insn=X.UC_X86_INS_SYSCALL):
    """code (machine code) added at the head of uc's SYSCALL (or insn's)
    hooks, before the gate's Python hook, called with data: its handle, or
    None where the list's insert flag is not the one known here or Unicorn
    refuses."""
    insert = _hook_insert_flag(uc)
    if insert is None:
        return None
    handle = ctypes.c_size_t()
    insert.value = True
    try:
        err = _uc_hook_add(uc._uch, ctypes.byref(handle), ctypes.c_int(UC.UC_HOOK_INSN),
                           ctypes.c_void_p(code_page(code)),
                           ctypes.c_void_p(ctypes.addressof(data)), ctypes.c_uint64(1),
                           ctypes.c_uint64(0), ctypes.c_int(insn))
    finally:
        insert.value = False
    return None if err else handle


def _hook_insert_flag(uc):
    """uc_struct's hook_insert (a new hook goes to its list's head), two
    bools before no_exit_request (see cpu.ucfields), or None."""
    base = _uch_value(uc._uch)
    raw = ctypes.string_at(base, _SEARCH)
    at = raw.find(_ANCHOR)
    if at < 0 or raw.find(_ANCHOR, at + 1) >= 0:
        return None
    flag = at + _FLAG_AFTER_ANCHOR - 2
    if raw[flag] != 0 or raw[flag + 3] != 1:      # hook_insert off, init_done set
        return None
    return ctypes.c_bool.from_address(base + flag)


def _find_env(uc):
    """The address of uc's CPUX86State: uc->cpu (known by the function
    pointers before it), then, inside the CPU object, the general registers
    given marked values for the search; checked both ways through the API."""
    base = _uch_value(uc._uch)
    head = struct.unpack("<512Q", ctypes.string_at(base, 4096))
    reg_read = ctypes.cast(_lib.reg_read_x86_64, ctypes.c_void_p).value
    reg_write = ctypes.cast(_lib.reg_write_x86_64, ctypes.c_void_p).value
    if head.count(reg_read) != 1:
        return None
    at = head.index(reg_read)
    if head[at + 1] != reg_write:
        return None
    cpu = head[at + _CPU_AFTER_REG_READ // 8]
    gprs = RegBatch(uc._uch, [REG[n] for n in _GPR])
    saved = gprs.read()
    marks = [0x5EC7_0000_0000_0011 | (k << 16) for k in range(len(_GPR))]
    try:
        gprs.write(marks)
        sig = struct.pack("<16Q", *marks)
        env = None
        if _env_offset and ctypes.string_at(cpu + _env_offset[0], 128) == sig:
            env = cpu + _env_offset[0]
        else:
            # Read through /proc/self/mem: past the object's end lies memory
            # that may not be mapped, which this read reports and does not
            # fault on.
            fd = os.open("/proc/self/mem", os.O_RDONLY)
            try:
                data = os.pread(fd, _SEARCH_ENV, cpu)
            finally:
                os.close(fd)
            off = data.find(sig)
            if off < 0 or off % 8:
                return None
            env = cpu + off
        q = (ctypes.c_uint64 * 18).from_address(env)
        # The API and the struct agree: RIP, then a general register written
        # in place and read back through the API.
        rip = uc.reg_read(X.UC_X86_REG_RIP)
        if q[16] != rip or uc.reg_read(X.UC_X86_REG_CS) != struct.unpack_from(
                "<I", ctypes.string_at(env + _SELECTOR["cs"], 4))[0] & 0xFFFF:
            return None
        q[15] = 0x5EC7_0000_0000_00FF
        if uc.reg_read(X.UC_X86_REG_R15) != q[15]:
            return None
    finally:
        gprs.write(saved)
    if not _env_offset:
        _env_offset.append(env - cpu)
    return env


# --- system calls answered in machine code ----------------------------------------
# The constant calls' stub (ConstantCalls), hook(uc, data) with data as
# _ConstData:
#     mov rax, [rsi]                  ; env
#     mov rdx, [rsi + 8]              ; the gate's Python hook (struct hook)
#     mov dword [rdx + 4], 699        ; its insn: SYSCALL, as it was added
#     mov ecx, [rsi + 16]             ; count: no answer kept, nothing to do
#     test ecx, ecx
#     jz 9f
#     cmp dword [rax + 208], 0x33     ; CS USER_CS and SS USER_DS, TF and RF
#     jne 9f                          ;   clear, the return address below
#     cmp dword [rax + 232], 0x2b     ;   TASK_SIZE_MAX: what SYSRET needs
#     jne 9f
#     test dword [rax + 136], 0x10100
#     jnz 9f
#     mov r8, [rax + 128]
#     add r8, 2
#     mov r9, 0x7ffffffff000
#     cmp r8, r9
#     jae 9f
#     mov r8d, [rax]                  ; the number: EAX (an int, as Linux reads it)
#     lea r9, [rsi + 24]
# 1:  cmp r8d, [r9]                   ; among the kept (number, answer) pairs?
#     je 2f
#     add r9, 16
#     dec ecx
#     jnz 1b
#     jmp 9f
# 2:  mov r8, [r9 + 8]
#     mov [rax], r8                   ; RAX = the answer
#     mov dword [rdx + 4], 0          ; and the Python hook passed over, this once
# 9:  ret
_CONST_CODE = bytes.fromhex(
    "488b06488b5608c74204bb0200008b4e1085c9745c83b8d000000033755383b8e80000002b754a"
    "f7808800000000010100753e4c8b80800000004983c00249b900f0ffffff7f00004d39c87324448b"
    "004c8d4e18453b01740a4983c110ffc975f3eb0e4d8b41084c8900c7420400000000c3")
_CONST_SLOTS = 8


class _ConstData(ctypes.Structure):
    _fields_ = [("env", ctypes.c_uint64), ("hook", ctypes.c_uint64), ("count", ctypes.c_uint32),
                ("pad", ctypes.c_uint32), ("slots", ctypes.c_uint64 * (2 * _CONST_SLOTS))]


# Unicorn 2.1.4's struct hook (include/uc_priv.h): int type, insn, refs, op,
# op_flags; bool to_delete; uint64_t begin, end; void *callback, *user_data.
_STRUCT_HOOK = struct.Struct("<iiiii?3xQQQQ")


class ConstantCalls:
    """System calls whose answer is a constant of the process (getpid,
    gettid, getuid...), answered by a stub in machine code put first in
    Unicorn's SYSCALL hooks, with no Python at all. The stub answers only
    what the kernel has put in its table (number, answer), and only while
    `count` is not 0: the entry layer keeps the pairs its own SYSCALL
    path answered, and empties the table (count = 0) at every other
    system call, every stop of the CPU and every way in that is not that
    path (entry.syscall64 says when a pair may be kept). Answering, the
    stub makes Unicorn pass over the gate's Python hook for that one
    instruction: Unicorn calls an instruction hook only while its `insn`
    is the instruction's, so the stub sets the Python hook's to 0 (no
    instruction) and, at every SYSCALL, back first. Unicorn's own SYSCALL
    saves (RCX, R11: RegFile.syscall_saves) still run."""

    def __init__(self, data, handle):
        self._data, self._handle = data, handle
        raw = memoryview(data).cast("B")
        self.count = raw[16:20].cast("I")       # count[0] = 0: answer nothing
        # This table's count and the i386 one's (ConstantCalls32: its
        # stub reads the word after this one): counts[0] = 0 empties both.
        self.counts = raw[16:24].cast("Q")
        self._slots = raw[24:].cast("Q")

    @classmethod
    def install(cls, uc, env, hooks, i386=None):
        """The stub in front of uc's SYSCALL hooks; hooks: the engine's
        (callback, handle) pairs, among which the gate's SYSCALL hook is
        found by its struct hook. None where this Unicorn's hook list or
        struct hook is not the one known here. i386: "sysenter" or
        "syscall", the gate of __kernel_vsyscall on this CPU, whose i386
        stub (ConstantCalls32) comes too, as .i386 (None where refused)."""
        python_hook = _python_insn_hook(hooks, X.UC_X86_INS_SYSCALL)
        if python_hook is None:
            return None
        data = _ConstData(env, python_hook, 0)
        count32 = ctypes.addressof(data) + 20
        compat = None
        if i386 == "syscall":
            # behind this one in the list: it goes in first
            compat = ConstantCalls32.install(uc, env, hooks, "syscall", count32)
        handle = _first_syscall_hook(uc, _CONST_CODE, data)
        if handle is None:
            return None
        self = cls(data, handle)
        self.i386 = compat
        if i386 == "sysenter":
            self.i386 = ConstantCalls32.install(uc, env, hooks, "sysenter", count32)
        uc._sysgate_constant_calls = self       # alive as long as the engine
        return self

    def keep(self, nr, value):
        """Answer nr with value from now on (until the table is emptied)."""
        _keep(self.count, self._slots, nr, value)


def _keep(count, slots, nr, value):
    """(nr, value) into a stub's table of count[0] pairs, once."""
    n = count[0]
    for i in range(n):
        if slots[2 * i] == nr:
            return
    if n < _CONST_SLOTS and 0 <= nr <= 0xFFFFFFFF and 0 <= value <= MASK64:
        slots[2 * n], slots[2 * n + 1] = nr, value
        count[0] = n + 1


def _python_insn_hook(hooks, insn):
    """The struct hook of the gate's Python hook for insn among hooks (the
    engine's (callback, handle) pairs), or None where this Unicorn's hook
    list or struct hook is not the one known here."""
    if getattr(unicorn, "__version__", "") != _RELEASE:
        return None
    found = None
    for cb, handle in hooks:
        addr = handle.value
        f = _STRUCT_HOOK.unpack(ctypes.string_at(addr, _STRUCT_HOOK.size))
        if f[:2] == (UC.UC_HOOK_INSN, insn) and not f[5] \
                and f[6:8] == (1, 0) and f[8] == ctypes.cast(cb, ctypes.c_void_p).value:
            found = addr
    return found


# The i386 constant calls' stub (ConstantCalls32), hook(uc, data) with data
# as _Const32Data, for SYSENTER (Intel) or compat SYSCALL (AMD) from the
# vDSO's __kernel_vsyscall. It returns as fast32's SYSRETL store does:
# EAX the answer, ECX and EIP the landing pad (EIP less the 2 Unicorn adds),
# ESP zero-extended, EBP the sixth argument's slot, [ESP], which the vDSO's
# push has just written (read through the stack's host memory, the window
# protections.user_u32 found).
#     mov rax, [rsi]                  ; env
#     mov rdx, [rsi + 8]              ; the gate's Python hook (struct hook)
#     mov ecx, [rsi + 16]             ; its insn, when this stub is the
#     test ecx, ecx                   ;   list's first (SYSENTER's; compat
#     jz 0f                           ;   SYSCALL's first is ConstantCalls')
#     mov [rdx + 4], ecx
# 0:  mov rcx, [rsi + 24]
#     mov ecx, [rcx]                  ; count (ConstantCalls' second word)
#     test ecx, ecx
#     jz 9f
#     cmp dword [rax + 208], 0x23     ; CS USER32_CS, SS USER_DS, and
#     jne 9f                          ;   RF, TF and VM clear: SYSRETL's
#     cmp dword [rax + 232], 0x2b
#     jne 9f
#     test dword [rax + 136], 0x30100
#     jnz 9f
#     mov r10, [rsi + 32]             ; the landing pad
#     test r10, r10
#     jz 9f
#     mov r8d, [rax + 32]             ; ESP
#     cmp dword [rsi + 20], 0         ; SYSENTER: the user ESP is in EBP,
#     je 1f                           ;   answered only when that is ESP
#     cmp r8d, [rax + 40]
#     jne 9f
# 1:  cmp r8, [rsi + 40]              ; [ESP, ESP + 4) in the window
#     jb 9f
#     lea r9, [r8 + 4]
#     cmp r9, [rsi + 48]
#     ja 9f
#     mov r9d, [rax]                  ; the number: EAX
#     lea r11, [rsi + 64]
# 2:  cmp r9d, [r11]                  ; among the kept (number, answer) pairs?
#     je 3f
#     add r11, 16
#     dec ecx
#     jnz 2b
#     jmp 9f
# 3:  mov [rax + 32], r8              ; RSP = ESP
#     add r8, [rsi + 56]
#     mov r8d, [r8]
#     mov [rax + 40], r8              ; RBP = [ESP]
#     mov r8, [r11 + 8]
#     mov [rax], r8                   ; RAX = the answer
#     mov [rax + 8], r10              ; RCX = the landing pad
#     sub r10, 2
#     mov [rax + 128], r10            ; RIP = the landing pad - 2
#     mov dword [rdx + 4], 0          ; and the Python hook passed over, this once
# 9:  ret
_CONST32_CODE = bytes.fromhex(
    "488b06488b56088b4e1085c97403894a04488b4e188b0985c90f848d00000083b8d0000000230f85"
    "8000000083b8e80000002b7577f7808800000000010300756b4c8b56204d85d27462448b40208"
    "37e14007406443b402875524c3b4628724c4d8d48044c3b4e307742448b084c8d5e40453b0b74"
    "0a4983c310ffc975f3eb2c4c8940204c034638458b004c8940284d8b43084c89004c8950084983"
    "ea024c899080000000c7420400000000c3")


class _Const32Data(ctypes.Structure):
    _fields_ = [("env", ctypes.c_uint64), ("hook", ctypes.c_uint64), ("restore", ctypes.c_uint32),
                ("sysenter", ctypes.c_uint32), ("count", ctypes.c_uint64),
                ("landing", ctypes.c_uint64), ("lo", ctypes.c_uint64), ("hi", ctypes.c_uint64),
                ("delta", ctypes.c_uint64), ("slots", ctypes.c_uint64 * (2 * _CONST_SLOTS))]


class ConstantCalls32:
    """ConstantCalls for i386 code through __kernel_vsyscall: SYSENTER on
    the Intel model, compat SYSCALL on the AMD one (which: the gate that
    model's vDSO uses). Its table's count is the second word of
    ConstantCalls' counts, so whatever empties that table empties this
    one. For compat SYSCALL the stub goes behind ConstantCalls' in the
    list (installed before it), which restores the Python hook's insn."""

    def __init__(self, which, data, handle, count):
        self.which, self._data, self._handle, self.count = which, data, handle, count
        raw = memoryview(data).cast("B")
        self._slots = raw[64:].cast("Q")

    @classmethod
    def install(cls, uc, env, hooks, which, count32_address):
        insn = X.UC_X86_INS_SYSENTER if which == "sysenter" else X.UC_X86_INS_SYSCALL
        python_hook = _python_insn_hook(hooks, insn)
        if python_hook is None:
            return None
        sysenter = which == "sysenter"
        data = _Const32Data(env, python_hook, insn if sysenter else 0, int(sysenter),
                            count32_address)
        handle = _first_syscall_hook(uc, _CONST32_CODE, data, insn)
        if handle is None:
            return None
        self = cls(which, data, handle, (ctypes.c_uint32 * 1).from_address(count32_address))
        uc._sysgate_constant_calls32 = self     # alive as long as the engine
        return self

    def keep(self, nr, value, landing, window):
        """Answer nr with value from now on (until the table is emptied),
        returning to landing, with the stack's [lo, hi) at host address +
        delta: window (protections.user_u32's, for this call's ESP)."""
        d = self._data
        lo, hi, delta = window
        delta &= MASK64
        if d.landing != landing or d.lo != lo or d.hi != hi or d.delta != delta:
            self.count[0] = 0       # the pairs kept so far were for another place
            d.landing, d.lo, d.hi, d.delta = landing, lo, hi, delta
        _keep(self.count, self._slots, nr, value)


MASK64 = (1 << 64) - 1
