"""Command line: argument parsing and printing only."""
import errno
import gc
import os
import sys

from .kernel.signal import NAMES as SIGNAL_NAMES

EX_SOFTWARE = 70
HELD_GC = False     # __main__ disabled the collector for the start-up (see _settle)


def _size_or_none(text):
    import re   # only for --mem and the like: re and enum cost a plain start 2-3 ms
    m = re.fullmatch(r"(\d+)([KMGT]?)(i?B)?", text.strip(), re.IGNORECASE)
    n = int(m.group(1)) << 10 * " KMGT".index(m.group(2).upper() or " ") if m else 0
    return n if n > 0 else None


def _size(text):
    """A byte count: a number with an optional K, M, G or T (powers of 1024)."""
    n = _size_or_none(text)
    if n is None:
        import argparse
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (say 512M, 4G, ...)")
    return n


_CHOICES = {"--cpu": ("intel", "amd", "i486"), "--net": ("host", "admin", "none")}
_CONVERT = {"--cpu": str, "--net": str, "--root": str, "--seed": int, "-g": int,
            "--memory-limit": _size_or_none}
_DEST = {"--cpu": "cpu", "--net": "net", "--root": "root", "--seed": "seed", "-g": "gdb_port",
         "--memory-limit": "memory_limit"}


def _quick_run(argv):
    """`run`'s command line as argparse reads it (the parser _parser
    builds), for its plain forms only: the options by their whole names,
    PROGRAM after them or after one --, no -- among its arguments (argparse
    would drop it). A start then imports and builds no argparse parser.
    None for anything else, which argparse parses (and reports)."""
    import types
    if len(argv) < 2 or argv[0] != "run":
        return None
    o = dict(command="run", cpu="intel", root=None, seed=None, no_vdso=False,
             memory_limit=None, net="host", gdb_port=None)
    i = 1
    while i < len(argv) and argv[i].startswith("-"):
        a = argv[i]
        i += 1
        if a == "--":
            break
        if a == "--no-vdso":
            o["no_vdso"] = True
            continue
        if a.startswith("-g") and len(a) > 2:
            name, value = "-g", a[2:]
        elif a.startswith("--") and "=" in a:
            name, _, value = a.partition("=")
        elif i < len(argv):
            name, value = a, argv[i]
            i += 1
        else:
            return None
        if name not in _DEST or value.startswith(("-", "=")) or \
                value not in _CHOICES.get(name, (value,)):
            return None
        try:
            value = _CONVERT[name](value)
        except ValueError:
            return None
        if value is None:
            return None
        o[_DEST[name]] = value
    if i >= len(argv) or "--" in argv[i + 1:]:
        return None
    o["program"], o["args"] = argv[i], argv[i + 1:]
    return types.SimpleNamespace(**o)


def _run_options():
    import argparse
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--cpu", default="intel", choices=["intel", "amd", "i486"],
                   help="CPU model the guest sees (default: intel)")
    p.add_argument("--root", metavar="DIR",
                   help="confine every path the guest names to DIR")
    p.add_argument("--seed", type=int, metavar="N",
                   help="fix address-space randomisation and guest randomness")
    p.add_argument("--no-vdso", action="store_true",
                   help="map no vDSO, as Linux's vdso=0: libc makes real system calls")
    p.add_argument("--memory-limit", type=_size, metavar="SIZE",
                   help="what one guest process may commit (writable private and shared "
                        "anonymous memory; PROT_NONE reservations are free): beyond it mmap, "
                        "brk, mprotect and mremap fail with ENOMEM and execve refuses the "
                        "image (default: 4G)")
    p.add_argument("--net", default="host", choices=["host", "admin", "none"],
                   help="the host's network without the power to configure it (host, the "
                        "default), with sysgate's own powers (admin), or a private one "
                        "with only loopback (none)")
    p.add_argument("-g", dest="gdb_port", type=int, metavar="PORT",
                   help="wait before the first instruction for gdb on 127.0.0.1:PORT "
                        "(`target remote :PORT`; 0 picks a free port and prints it)")
    p.add_argument("program", metavar="PROGRAM")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="ARG")
    return p


COMMANDS = ("run", "trace", "diff", "bench", "syscalls", "probe")


def _parser(argv=None):
    """The command line's parser; only the named command's options are
    built (a run need not pay for every subcommand's), all of them when no
    command is named (`sysgate --help`, a mistake)."""
    import argparse
    p = argparse.ArgumentParser(
        prog="sysgate",
        description="Run Linux x86 programs through faithful models of the system-call gates.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    argv = sys.argv[1:] if argv is None else argv
    named = argv[0] if argv and argv[0] in COMMANDS else None

    def want(name):
        return named is None or named == name
    common = _run_options() if named in (None, "run", "trace", "diff") else None
    runs = [common] if common is not None else []
    sub.add_parser("run", parents=runs, help="run a program under sysgate")
    tr = sub.add_parser("trace", parents=runs if want("trace") else [],
                        help="run a program and print every crossing, strace-style")
    if want("trace"):
        tr.add_argument("-e", dest="expr", default="trace=all", metavar="trace=SET",
                        help="calls to show: names and strace classes (%%file, %%desc, ...)")
        tr.add_argument("-o", dest="output", metavar="FILE", help="write the trace to FILE")
        tr.add_argument("-s", dest="strsize", type=int, default=32, metavar="N",
                        help="maximum string size to print (default 32)")
        tr.add_argument("-c", dest="summary", action="store_true",
                        help="print a summary table instead of each call")
        tr.add_argument("--json", action="store_true", help="one JSON object per event")
        tr.add_argument("-f", dest="follow", action="store_true",
                        help="follow forked children; their lines start with [pid N]")
    sub.add_parser("diff", parents=runs if want("diff") else [],
                   help="compare the program's system calls natively (strace) and under sysgate")
    bn = sub.add_parser("bench", help="the probe's operations natively and under sysgate")
    if want("bench"):
        bn.add_argument("--cpu", default="intel", choices=["intel", "amd", "i486"])
        bn.add_argument("-n", dest="count", type=int, default=20_000,
                        help="operations per emulated loop (default 20000)")
        bn.add_argument("--json", action="store_true")
        bn.add_argument("--plot", metavar="FILE.png", help="draw a chart (needs matplotlib)")
    sc = sub.add_parser("syscalls", help="which system calls sysgate runs, per ABI")
    if want("syscalls"):
        sc.add_argument("--abi", choices=["x86_64", "i386"], help="one ABI only")
        sc.add_argument("--status", metavar="S[,S]",
                        help="only these statuses (supported, partial, absent, missing)")
        sc.add_argument("--markdown", action="store_true",
                        help="the whole table as docs/syscalls.md holds it")
    pr = sub.add_parser("probe", help="measure the real host: its vDSO and crossing costs")
    if want("probe"):
        pr.add_argument("--dump", metavar="FILE", help="write the host vDSO image to FILE")
        pr.add_argument("--json", action="store_true", help="print one JSON object")
        pr.add_argument("-n", dest="count", type=int, default=200_000,
                        help="operations per timed loop (default 200000)")
    return p


def describe_signal(signo):
    return SIGNAL_NAMES.get(signo, f"Signal {signo}")


class GuestKilled(Exception):
    """The guest died of a signal: sysgate dies of it too, once the trace's
    summary is out, so its parent sees what the program's would (the
    shell's "Segmentation fault", $? 139, WIFSIGNALED, the core flag)."""

    def __init__(self, signo, task):
        super().__init__(signo)
        self.signo, self.task = signo, task


def _die_as(e):
    from .kernel import coredump
    from .runloop import flush_stdio
    flush_stdio()
    coredump.end_as(e.task, e.signo)


def cmd_run(opts, trace=None):
    from .machine import LoadError, Machine
    try:
        m = Machine(cpu=opts.cpu, root=opts.root, seed=opts.seed, vdso=not opts.no_vdso,
                    memory_limit=opts.memory_limit, net=opts.net)
        m.load(opts.program, [opts.program] + opts.args)
    except LoadError as e:
        print(f"sysgate: {e}", file=sys.stderr)
        # A shell's statuses for a failed exec: 127 for a missing file, 126 otherwise.
        return 127 if getattr(e, "errno", None) == errno.ENOENT else 126
    if trace:
        trace(m)
    if getattr(opts, "gdb_port", None) is not None:
        from .debug import attach
        try:
            attach(m, opts.gdb_port, opts.program)
        except OSError as e:
            print(f"sysgate: gdb port {opts.gdb_port}: {e.strerror}", file=sys.stderr)
            return 126
    status = m.run()
    if status[0] == "exit":
        return status[1]
    signo, why = status[1], status[2]
    if os.environ.get("SYSGATE_VERBOSE"):
        print(f"sysgate: {describe_signal(signo)}" + (f" ({why})" if why else ""),
              file=sys.stderr)
    raise GuestKilled(signo, m.task)


def cmd_trace(opts):
    from .trace.classes import parse_trace_set
    from .trace.strace import JsonPrinter, StracePrinter
    from .trace.summary import Summary
    names = parse_trace_set(opts.expr)
    out = open(opts.output, "w") if opts.output else sys.stderr
    summary = spool = None
    if opts.summary:
        from .trace.costs import CostModel
        if opts.follow:
            import tempfile
            fd, spool = tempfile.mkstemp(prefix="sysgate-summary-")
            os.close(fd)
        summary = Summary(CostModel.from_probe(), spool)
        # Each call's time is its crossing and handler's, not the import of
        # the handler's module at its first use (kernel.lazyreg): that
        # made a program's first writev seem 600 us long.
        from .kernel.lazyreg import import_all
        import_all()

    def attach(m):
        m.follow = opts.follow
        m.enable_tracing(strsize=opts.strsize)
        if summary is not None:
            m.events.subscribe(summary)
        elif opts.json:
            m.events.subscribe(JsonPrinter(out, names))
        else:
            m.events.subscribe(StracePrinter(out, names))
    try:
        return cmd_run(opts, trace=attach)
    finally:
        if summary is not None:
            out.write(summary.render())
        if spool is not None:
            os.unlink(spool)
        if out is not sys.stderr:
            out.close()


def cmd_probe(opts):
    import json
    from .probe import host
    image = host.vdso_bytes()
    if opts.dump:
        if image is None:
            print("sysgate: this process has no vDSO (vdso=0?)", file=sys.stderr)
            return 1
        with open(opts.dump, "wb") as f:
            f.write(image)
    syms = host.dynamic_symbols(image) if image else []
    costs = host.measure(opts.count)
    if opts.json:
        print(json.dumps({
            "vdso": {"base": host.vdso_base(), "size": len(image or b""),
                     "symbols": [{"name": n, "version": v, "offset": o, "type": k}
                                 for n, v, o, k in syms if k == "func"]},
            "ns_per_op": costs}, indent=2))
        return 0
    if image:
        print(f"host vDSO at {host.vdso_base():#x}, {len(image)} bytes"
              + (f", written to {opts.dump}" if opts.dump else ""))
        for name, ver, off, kind in sorted(syms):
            if kind == "func":
                print(f"  {name:<24} {ver:<10} +{off:#06x}")
    else:
        print("host vDSO: none")
    call = costs.get("function call") or 1e-9
    print(f"\n{'operation':<32} {'ns/op':>9} {'x call':>8}")
    for name, ns in costs.items():
        print(f"{name:<32} {ns:>9.1f} {ns / call:>8.1f}")
    return 0


def cmd_diff(opts):
    from .trace import diff
    run_opts = ["--cpu", opts.cpu] + (["--root", opts.root] if opts.root else []) \
        + (["--seed", str(opts.seed)] if opts.seed is not None else []) \
        + (["--memory-limit", str(opts.memory_limit)] if opts.memory_limit else [])
    try:
        native, nstatus = diff.native_calls(opts.program, opts.args)
    except (RuntimeError, OSError) as e:
        print(f"sysgate: {e}", file=sys.stderr)
        return 2
    emulated, estatus = diff.sysgate_calls(opts.program, opts.args, run_opts)
    rc = diff.report(native, emulated, sys.stdout)
    if nstatus != estatus:
        print(f"exit status differs: native {nstatus}, sysgate {estatus}")
        rc = 1
    return rc


def cmd_bench(opts):
    import json
    from .probe import emulated, host
    print("measuring natively...", file=sys.stderr)
    native = host.measure()
    print("measuring under sysgate...", file=sys.stderr)
    emu = emulated.measure(opts.count, cpu=opts.cpu)
    rows = [(name, native.get(name), emu[name]) for name in emu]
    if opts.json:
        print(json.dumps({name: {"native_ns": nv, "sysgate_ns": ev} for name, nv, ev in rows},
                         indent=2))
    else:
        print(f"{'operation':<32} {'native ns':>10} {'sysgate ns':>11} {'slowdown':>9}")
        for name, nv, ev in rows:
            ratio = f"{ev / nv:>8.0f}x" if nv else f"{'-':>9}"
            print(f"{name:<32} {nv:>10.1f} {ev:>11.1f} {ratio}")
    if opts.plot:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("sysgate: --plot needs matplotlib (pip install matplotlib)", file=sys.stderr)
            return 1
        fig, ax = plt.subplots(figsize=(8, 3.5))
        names = [r[0] for r in rows]
        ys = range(len(rows))
        ax.barh([y + 0.2 for y in ys], [r[1] or 0 for r in rows], 0.4, label="native")
        ax.barh([y - 0.2 for y in ys], [r[2] for r in rows], 0.4, label="sysgate")
        ax.set_yticks(list(ys), names)
        ax.set_xscale("log")
        ax.set_xlabel("ns per operation (log scale)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(opts.plot)
    return 0


def cmd_syscalls(opts):
    from .kernel import support
    if opts.markdown:
        print(support.markdown())
        return 0
    only = set(opts.status.split(",")) if opts.status else None
    for abi in [opts.abi] if opts.abi else support.ABIS:
        c = support.counts(abi)
        print(f"# {abi}: " + ", ".join(f"{n} {k}" for k, n in sorted(c.items())))
        print(support.text(abi, only))
    return 0


def end(status):
    """python3 -m sysgate's end, as sys.exit(status) would end the process
    but without the interpreter's tear-down (every module, the machine and
    its CPU freed one object at a time: some 20 ms): the buffers flushed,
    the atexit functions run, then _exit. A flush that fails is left to
    sys.exit, to report as it would."""
    if status is None:
        status = 0
    if not isinstance(status, int):
        sys.exit(status)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        sys.exit(status)
    import atexit
    atexit._run_exitfuncs()
    os._exit(status & 0xFF)


def _settle():
    """Start-up is over: what it built (modules, classes, tables: some
    100,000 objects) lives as long as the process, so it goes where the
    collector never looks again (nor writes, in a forked child, to the
    pages that hold it), and collections start from here."""
    global HELD_GC
    if HELD_GC:
        HELD_GC = False
        gc.freeze()
        gc.enable()


def main(argv=None):
    opts = _quick_run(sys.argv[1:] if argv is None else argv) or _parser(argv).parse_args(argv)
    try:
        if opts.command in ("run", "trace"):
            from . import machine  # noqa: F401  (the rest of start-up's imports)
        _settle()
        if opts.command == "probe":
            return cmd_probe(opts)
        if opts.command == "diff":
            return cmd_diff(opts)
        if opts.command == "bench":
            return cmd_bench(opts)
        if opts.command == "syscalls":
            return cmd_syscalls(opts)
        return cmd_trace(opts) if opts.command == "trace" else cmd_run(opts)
    except GuestKilled as e:
        _die_as(e)
    except KeyboardInterrupt:
        return 130
    except Exception as e:     # a kernel bug: one line for users, loud with SYSGATE_DEBUG
        if os.environ.get("SYSGATE_DEBUG"):
            raise
        print(f"sysgate: internal error: {type(e).__name__}: {e} "
              "(set SYSGATE_DEBUG=1 for a traceback)", file=sys.stderr)
        return EX_SOFTWARE
