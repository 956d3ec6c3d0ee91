"""The gate's trace hook: one Crossing event per system call, decoded while
the guest's memory still holds the arguments (entry.common.do_syscall calls
it once the return is made)."""
from ..kernel.registry import names
from .decode import decode_args
from .events import Crossing


def crossing_hook(gate, mm, events, deferred, strsize=32):
    """A callable(pt_regs) emitting each crossing on events, then the
    events held back while it was in progress (deferred: signals delivered
    on its way out, shown after it as strace shows them)."""
    tables = {"x86_64": gate.table64, "i386": gate.table32}
    unknown = {abi: names(abi) for abi in tables}

    def on_crossing(regs):
        result = regs.retval if regs.retval is not None else regs.ax
        table = tables[regs.abi]
        entry = table[regs.orig_ax] if 0 <= regs.orig_ax < len(table) else None
        if entry is None:
            name = unknown[regs.abi].get(regs.orig_ax, f"syscall_{regs.orig_ax:#x}")
            text = [hex(a) for a in regs.args]
            args = regs.args
        else:
            name, kinds = entry.name, entry.call.kinds
            args = tuple(c(a) for c, a in zip(entry.convert, regs.args))
            text = decode_args(name, kinds, args, result, mm, strsize, regs.abi == "x86_64")
        events.emit(Crossing(regs.gate, regs.abi, regs.orig_ax, name, args,
                             result, regs.exit_path, text, getattr(regs, "seconds", 0.0)))
        while deferred:
            events.emit(deferred.pop(0))
    return on_crossing
