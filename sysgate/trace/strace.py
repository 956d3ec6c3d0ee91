"""strace-format output from the event stream.

Each crossing is one line, strace's own `name(args) = result`, prefixed by
the gate and the return path in brackets, so a line stays readable and a
regular expression takes it apart:

    [syscall/sysretq] write(1, "hi\\n", 3) = 3
    [sysenter/sysretl] getpid() = 4242
    [int80/iret] open("/nope", O_RDONLY) = -1 ENOENT (No such file or directory)
    [vdso] clock_gettime(CLOCK_MONOTONIC, 0x7ffd1230) = 0
    +++ exited with 0 +++

Lines of a child process followed with -f start with `[pid N] `, as strace's.
"""
import json
import os

from .decode import result_text, signame
from .events import Crossing, ExitEvent, SignalEvent, VdsoCall, current_tid

LINE_RE = r"^(?:\[pid +(?P<pid>\d+)\] )?\[(?P<gate>\w+)(?:/(?P<path>\w+))?\] (?P<name>\w+)\((?P<args>.*)\) = (?P<result>.*)$"


def crossing_line(ev):
    call = f"{ev.name}({', '.join(ev.text_args)}) = {result_text(ev.name, ev.result)}"
    if isinstance(ev, VdsoCall):
        return f"[vdso] {call}"
    return f"[{ev.gate}/{ev.exit_path}] {call}"


def exit_line(ev):
    if ev.status[0] == "exit":
        return f"+++ exited with {ev.status[1]} +++"
    return f"+++ killed by {signame(ev.status[1])} +++"


SI_CODES = {0: "SI_USER", 0x80: "SI_KERNEL", -1: "SI_QUEUE", -2: "SI_TIMER", -6: "SI_TKILL"}
FAULT_CODES = {11: {1: "SEGV_MAPERR", 2: "SEGV_ACCERR"}, 4: {2: "ILL_ILLOPN"},
               8: {1: "FPE_INTDIV"}, 7: {1: "BUS_ADRALN", 2: "BUS_ADRERR"},
               17: {1: "CLD_EXITED", 2: "CLD_KILLED", 3: "CLD_DUMPED", 4: "CLD_TRAPPED",
                    5: "CLD_STOPPED", 6: "CLD_CONTINUED"}}


def signal_line(ev):
    code = FAULT_CODES.get(ev.signo, {}).get(ev.code) if ev.code > 0 and ev.code != 0x80 \
        else None
    code = code or SI_CODES.get(ev.code, str(ev.code))
    addr = f", si_addr={ev.addr:#x}" if ev.addr is not None else ""
    return f"--- {signame(ev.signo)} {{si_signo={signame(ev.signo)}, si_code={code}{addr}}} ---"


class StracePrinter:
    def __init__(self, out, names=None):
        self.out = out
        self.names = names        # set of call names to show, or None for all
        self.pid = os.getpid()    # lines of other (forked) processes name theirs

    def __call__(self, ev):
        if isinstance(ev, (Crossing, VdsoCall)):
            if self.names is not None and ev.name not in self.names:
                return
            line = crossing_line(ev)
        elif isinstance(ev, ExitEvent):
            line = exit_line(ev)
        elif isinstance(ev, SignalEvent):
            line = signal_line(ev)
        else:
            return
        pid = current_tid()
        if pid != self.pid:
            line = f"[pid {pid}] {line}"
        self.out.write(line + "\n")
        self.out.flush()


class JsonPrinter:
    """One JSON object per event; fields as in trace/events.py."""

    def __init__(self, out, names=None):
        self.out, self.names = out, names
        self.pid = os.getpid()

    def __call__(self, ev):
        if isinstance(ev, (Crossing, VdsoCall)) and self.names is not None \
                and ev.name not in self.names:
            return
        d = dict(vars(ev))
        if "args" in d:
            d["args"] = list(d["args"])
        pid = current_tid()
        if pid != self.pid:
            d["pid"] = pid
        self.out.write(json.dumps(d) + "\n")
        self.out.flush()
