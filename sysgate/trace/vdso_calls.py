"""Observing vDSO calls, which never enter the kernel: while tracing, a code
hook on each exported function's entry notes the arguments and the return
address, and a hook on that return address reads the result. Without
tracing, nothing is hooked and no Python runs on the vDSO path."""
import struct

from .decode import CLOCKS
from .events import VdsoCall

GATES = {"__kernel_vsyscall", "__kernel_sigreturn", "__kernel_rt_sigreturn"}


def _name(sym):
    return sym[len("__vdso_"):] if sym.startswith("__vdso_") else sym


class VdsoObserver:
    def __init__(self, machine, vdso):
        self.m = machine
        self.cpu = machine.cpu
        self.mm = machine.task.mm
        self.is64 = machine.task.mm.task_size > 1 << 32
        self.pending = {}          # return address -> [(name, args), ...]
        self.ret_hooks = set()
        seen = set()
        for sym, addr in sorted(vdso.functions().items()):
            if sym in GATES or addr in seen:
                continue           # aliases (clock_gettime, __vdso_clock_gettime) share code
            seen.add(addr)
            self.cpu.hook_code_at(addr, lambda sym=sym: self.on_entry(_name(sym)))

    def _reg(self, name):
        from ..cpu.engine import REG
        return self.cpu.reg_read(REG[name])

    def on_entry(self, name):
        if self.is64:
            sp = self._reg("rsp")
            args = (self._reg("rdi"), self._reg("rsi"), self._reg("rdx"))
            ret = struct.unpack("<Q", self.mm.read(sp, 8))[0]
        else:
            sp = self._reg("rsp") & 0xFFFFFFFF
            ret, *args = struct.unpack("<4I", self.mm.read(sp, 16))
            args = tuple(args)
        self.pending.setdefault(ret, []).append((name, args))
        if ret not in self.ret_hooks:
            self.ret_hooks.add(ret)
            self.cpu.hook_code_at(ret, lambda ret=ret: self.on_return(ret))

    def on_return(self, ret):
        calls = self.pending.get(ret)
        if not calls:
            return
        name, args = calls.pop()
        result = self._reg("rax")
        result &= (1 << 64) - 1 if self.is64 else 0xFFFFFFFF
        if result >> (63 if self.is64 else 31):
            result -= 1 << (64 if self.is64 else 32)
        self.m.events.emit(VdsoCall(name, args, result, self._decode(name, args, result)))

    def _timespec(self, addr, wide):
        fmt = "<qq" if wide else "<ii"
        try:
            sec, nsec = struct.unpack(fmt, self.mm.read(addr, struct.calcsize(fmt)))
        except Exception:
            return hex(addr)
        return f"{{tv_sec={sec}, tv_nsec={nsec}}}"

    def _decode(self, name, args, result):
        wide = self.is64 or name.endswith("64")
        ok = result == 0
        ptr = lambda v: "NULL" if v == 0 else hex(v)   # noqa: E731
        clk = args[0]
        clkname = CLOCKS[clk] if 0 <= clk < len(CLOCKS) and CLOCKS[clk] else str(clk)
        if name.startswith(("clock_gettime", "clock_getres")):
            return [clkname, self._timespec(args[1], wide) if ok and args[1] else ptr(args[1])]
        if name == "gettimeofday":
            tv = args[0]
            if ok and tv:
                fmt = "<qq" if self.is64 else "<ii"
                sec, usec = struct.unpack(fmt, self.mm.read(tv, struct.calcsize(fmt)))
                return [f"{{tv_sec={sec}, tv_usec={usec}}}", ptr(args[1])]
            return [ptr(tv), ptr(args[1])]
        if name == "time":
            return [ptr(args[0])]
        if name == "getcpu":
            cpu = struct.unpack("<I", self.mm.read(args[0], 4))[0] if ok and args[0] else None
            return [f"[{cpu}]" if cpu is not None else ptr(args[0]), ptr(args[1]), ptr(args[2])]
        return [hex(a) for a in args]
