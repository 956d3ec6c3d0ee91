"""What a tracer asks of a tracee at a ptrace-stop (calls.py sends it
through channel.py): memory, registers, siginfo, options, debug
registers, the FPU, TLS entries, auxv and maps, and the resumes."""
import os
import signal as hostsignal

from ..errors import KernelError
from ..sigframe import _fxrestore, _fxsave
from . import channel
from .regs import FLAG_MASK, M64, SEGMENTS

EIO = 5
MAX_IO = 1 << 16          # bytes one read or write request may move


class Requests:
    """Tracee's side of the tracer's requests."""

    def _serve(self, req):
        op = req.get("op")
        if op == "interrupt":       # PTRACE_INTERRUPT during this stop: no reply
            self.trap_pending = True
            return None
        reply = {"ok": 1}
        try:
            if op == "listen":
                channel.send(self.sock, reply)
                return ("listen",)
            if op == "resume":
                channel.send(self.sock, reply)
                self.mode = req.get("mode", "cont")
                return (req.get("sig", 0),)
            if op == "detach":
                channel.send(self.sock, reply)
                self.detach()
                return (req.get("sig", 0),)
            if op == "kill":
                os.kill(os.getpid(), hostsignal.SIGKILL)
            if op == "read":
                reply["data"] = self._read(req["addr"], req["n"]).hex()
            elif op == "write":
                self._write(req["addr"], bytes.fromhex(req["data"]))
            elif op == "setregs":
                self._setregs(req["regs"])
            elif op == "setsiginfo":
                self.info = bytes.fromhex(req["data"])
            elif op == "options":
                self.options = req["v"]
            elif op == "debugreg":
                err = self.debugregs.write(req["n"], req["v"])
                if err:
                    reply = {"err": err}
                elif req["n"] != 6:
                    self.arm_hw()
            elif op == "auxv":
                reply["data"] = bytes(self.t.auxv_bytes or b"").hex()
            elif op == "maps":
                from ..fs.procinfo import maps
                text = maps(self.t)
                reply["data"] = (text if isinstance(text, bytes) else text.encode()).hex()
            elif op == "gdt":
                n = req["n"]
                if not 12 <= n < 15:
                    raise KernelError(EIO)
                reply["data"] = bytes(self.t.thread.read_gdt(n)).hex()
            elif op == "fpregs":
                reply["data"] = _fxsave(self.t.thread.read_fpu()).hex()
            elif op == "setfpregs":
                self.t.thread.write_fpu(_fxrestore(bytes.fromhex(req["data"]), 16))
            else:
                reply = {"err": EIO}
        except KernelError as e:
            reply = {"err": e.errno}
        except (KeyError, TypeError, ValueError):
            reply = {"err": EIO}
        channel.send(self.sock, reply)
        return None

    def _read(self, addr, n):
        """Bytes at addr as far as memory is there (any protection: ptrace
        reads with FOLL_FORCE); EIO when none is."""
        mm = self.task.mm
        n = max(0, min(n, MAX_IO))
        a, end = addr, addr + n
        while a < end:
            v = mm.find(a)
            if v is None or not v.backed:
                break
            a = v.end
        upto = min(a, end)
        if upto <= addr:
            raise KernelError(EIO)
        return self.t.thread.cpu.mem_read(addr, upto - addr)

    def _write(self, addr, data):
        if len(data) > MAX_IO or len(self._read(addr, len(data))) != len(data):
            raise KernelError(EIO)
        self.task.mm.write_kernel(addr, data)
        self.t.thread.cpu.drop_code(addr, len(data))

    def _setregs(self, new):
        v = self.view
        for k, x in new.items():
            if k not in v:
                continue
            x = int(x) & M64
            if k in SEGMENTS and x & 0xFFFF != v[k] & 0xFFFF:
                # set_segment_reg: a user selector (RPL 3) or null; cs and ss never null.
                if x > 0xFFFF or (x and x & 3 != 3) or (not x and k in ("cs", "ss")):
                    raise KernelError(EIO)
            if k == "eflags":
                x = (v[k] & ~FLAG_MASK) | (x & FLAG_MASK)
            if x != v[k]:
                v[k] = x
                self.dirty.add(k)
