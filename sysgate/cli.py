"""Command line: argument parsing and printing only."""
import argparse
import os
import sys

from .kernel.signal import NAMES as SIGNAL_NAMES

EX_SOFTWARE = 70


def _parser():
    p = argparse.ArgumentParser(
        prog="sysgate",
        description="Run Linux x86 programs through faithful models of the system-call gates.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    run = sub.add_parser("run", help="run a program under sysgate")
    run.add_argument("--cpu", default="intel", choices=["intel", "amd", "i486"],
                     help="CPU model the guest sees (default: intel)")
    run.add_argument("--root", metavar="DIR",
                     help="confine every path the guest names to DIR")
    run.add_argument("--seed", type=int, metavar="N",
                     help="fix address-space randomisation and guest randomness")
    run.add_argument("program", metavar="PROGRAM")
    run.add_argument("args", nargs=argparse.REMAINDER, metavar="ARG")
    return p


def describe_signal(signo):
    return SIGNAL_NAMES.get(signo, f"Signal {signo}")


def cmd_run(opts):
    from .machine import LoadError, Machine
    try:
        m = Machine(cpu=opts.cpu, root=opts.root, seed=opts.seed)
        m.load(opts.program, [opts.program] + opts.args)
    except LoadError as e:
        print(f"sysgate: {e}", file=sys.stderr)
        return 127 if "No such file" in str(e) else 126
    status = m.run()
    if status[0] == "exit":
        return status[1]
    signo, why = status[1], status[2]
    sys.stdout.flush()
    msg = describe_signal(signo)
    if os.environ.get("SYSGATE_VERBOSE") and why:
        msg += f" ({why})"
    print(msg, file=sys.stderr)
    return 128 + signo


def main(argv=None):
    opts = _parser().parse_args(argv)
    try:
        return cmd_run(opts)
    except KeyboardInterrupt:
        return 130
    except Exception as e:     # a kernel bug: one line for users, loud with SYSGATE_DEBUG
        if os.environ.get("SYSGATE_DEBUG"):
            raise
        print(f"sysgate: internal error: {type(e).__name__}: {e} "
              "(set SYSGATE_DEBUG=1 for a traceback)", file=sys.stderr)
        return EX_SOFTWARE
