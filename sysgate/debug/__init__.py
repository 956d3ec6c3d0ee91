"""A gdb remote stub for sysgate itself: `sysgate run -g PORT PROGRAM`
waits on 127.0.0.1:PORT, before the program's first instruction, for
`target remote :PORT` from a host gdb (as `qemu-x86_64 -g PORT` does).

rsp.py frames packets, gdbstub.py answers them against a target,
regs.py holds gdb's x86 register layouts, target.py is sysgate's target.
A gdb that disconnects (or `detach`es) lets the guest run on; `kill` ends it.
"""
import os
import socket
import sys

from .gdbstub import GdbStub
from .rsp import Connection
from .target import SysgateTarget


def listen(port, host="127.0.0.1"):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(1)
    return srv


def attach(machine, port, program=None, host="127.0.0.1", log=sys.stderr):
    """Wait for gdb on host:port (0: any free port, announced on log) and
    make it the machine's debugger (program: the host path it was loaded
    from). OSError when the port cannot be had."""
    srv = listen(port, host)
    try:
        print(f"sysgate: waiting for gdb on {host}:{srv.getsockname()[1]}", file=log, flush=True)
        sock, _ = srv.accept()
    finally:
        srv.close()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    target = SysgateTarget(machine)
    if program is not None:
        target.host_paths[os.fsencode(machine.task.exe_path)] = os.fsencode(
            os.path.realpath(program))
    target.stub = GdbStub(Connection(sock, target.interrupt), target)
    machine.debug = target
    return target
