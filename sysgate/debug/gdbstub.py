"""gdb's remote protocol, the command side: what each packet asks of a
target and what to answer. The target is any object with the small
interface below (target.py is sysgate's, tests use a fake), so the whole
protocol is exercised without a CPU.

Target interface:
  layout                      regs.Layout of the program now running
  pid, threads()              the process id and its thread ids
  read_reg(name)              int (st0-st7: their 10 bytes)
  write_reg(name, value)
  read_memory(addr, n)        bytes, shorter (even empty) where memory ends
  write_memory(addr, data)    False where some byte is not mapped
  breakpoint(ztype, addr, kind, insert)
                              True done, False refused, None unsupported type
  auxv(), exec_file()         bytes
  siginfo()                   bytes of the last stop's siginfo, or None
  libraries_svr4()            the <library-list-svr4> document (svr4.py)
  open_file(path), readlink(path)
                              a readable binary file object, the link's bytes
                              (OSError as the host says)
  catch_syscalls(which)       None: off; a set of numbers (empty: all)
  pass_signals(signos)        Linux numbers gdb lets through without a stop

The stub answers a stop (`stopped`) by reporting it and serving packets
until gdb resumes the target; it returns a Resume saying how.
"""
import os
import traceback

from .protocol import (  # noqa: F401 (the stub's names, as before)
    _LINUX_TO_GDB, _GDB_TO_LINUX, SIGTRAP, SIGKILL, PACKET_SIZE, E_FAULT, E_INVAL,
    to_gdb_signal, from_gdb_signal, Stop, Resume, Malformed, _hexint, _addr_len, _xfer_slice)
from .vfile import HostFiles, _file_error  # noqa: F401

class GdbStub(HostFiles):
    def __init__(self, conn, target):
        self.conn = conn
        self.target = target
        self.last_stop = Stop(SIGTRAP)
        self.multiprocess = False
        self.exec_events = False
        self._files, self._next_fd = {}, 1

    # --- the two moments gdb hears from us ------------------------------
    def stopped(self, stop, report=True):
        """The target stopped: tell gdb (when it is waiting for a stop: not
        at the very first stop, which gdb asks about with '?'), then serve
        packets until it resumes. A gdb that goes away detaches."""
        self.last_stop = stop
        if report:
            self.conn.send(self.stop_reply(stop))
        while True:
            data = self.conn.receive()
            if data is None:
                return Resume("detach")
            reply = self.handle(data)
            if isinstance(reply, Resume):
                if reply.action == "detach":
                    self.conn.send("OK")
                return reply
            if reply is not None:
                self.conn.send(reply)

    def exited(self, kind, value):
        """kind 'exit' (status) or 'signal' (Linux signo): W or X."""
        code = b"W%02x" % (value & 0xFF) if kind == "exit" else b"X%02x" % to_gdb_signal(value)
        if self.multiprocess:
            code += b";process:%x" % self.target.pid
        self.conn.send(code)

    # --- packets ----------------------------------------------------------
    def handle(self, data):
        """The reply to one packet (bytes), a Resume, or None for no reply.
        Anything malformed is an error reply; anything unknown the empty one."""
        try:
            return self._dispatch(data)
        except (Malformed, ValueError, IndexError, KeyError, UnicodeError, OverflowError):
            return E_INVAL
        except Exception:
            # A bug of the stub or the target must not take the guest down
            # with it: gdb gets an error; SYSGATE_DEBUG shows the traceback.
            if os.environ.get("SYSGATE_DEBUG"):
                traceback.print_exc()
            return b"E01"

    def _dispatch(self, data):
        if not data:
            return b""
        cmd = chr(data[0])
        if cmd == "X":
            return self._write_binary(data[1:])
        text = data.decode("latin-1")
        fn = getattr(self, "_cmd_" + cmd, None) if cmd.isalpha() or cmd == "?" else None
        if cmd == "?":
            return self.stop_reply(self.last_stop)
        if fn is None:
            return b""
        return fn(text[1:])

    def thread_id(self, tid):
        if self.multiprocess:
            return f"p{self.target.pid:x}.{tid:x}"
        return f"{tid:x}"

    def _parse_thread(self, text):
        """A thread-id: None for 'any' (0) or 'all' (-1), else the tid."""
        if text.startswith("p"):
            pid, _, tid = text[1:].partition(".")
            if pid != "-1":
                _hexint(pid)
            text = tid or "-1"
        if text in ("-1", "0"):
            return None
        return _hexint(text)

    def stop_reply(self, stop):
        t = self.target
        t.select(None)      # registers are the stopped thread's again
        parts = [f"T{to_gdb_signal(stop.signo):02x}"]
        lay = t.layout
        for name in (lay.pc, lay.sp, lay.fp):
            parts.append(f"{lay.index[name]:02x}:{lay.encode(name, t.read_reg(name)).hex()};")
        parts.append(f"thread:{self.thread_id(t.threads()[0])};")
        for key, value in stop.reasons:
            if key == "exec" and not self.exec_events:
                continue
            parts.append(f"{key}:{value};")
        return "".join(parts).encode()

    # one method per packet letter ------------------------------------
    def _cmd_q(self, text):
        name, _, arg = text.partition(":")
        if name == "Supported":
            feats = arg.split(";")
            self.multiprocess = "multiprocess+" in feats
            self.exec_events = "exec-events+" in feats
            return (f"PacketSize={PACKET_SIZE:x};QStartNoAckMode+;qXfer:features:read+;"
                    "qXfer:auxv:read+;qXfer:exec-file:read+;qXfer:siginfo:read+;"
                    "qXfer:libraries-svr4:read+;qXfer:threads:read+;QCatchSyscalls+;QPassSignals+;"
                    "swbreak+;hwbreak+;vContSupported+"
                    + (";multiprocess+" if self.multiprocess else "")
                    + (";exec-events+" if self.exec_events else "")).encode()
        if name == "Xfer":
            return self._xfer(arg)
        if name == "Attached":
            return b"0"               # we started the process: gdb kills it when done
        if name == "C":
            return f"QC{self.thread_id(self.target.threads()[0])}".encode()
        if name == "fThreadInfo":
            return ("m" + ",".join(self.thread_id(t) for t in self.target.threads())).encode()
        if name == "sThreadInfo":
            return b"l"
        if name == "Symbol":
            return b"OK"
        if name.startswith("ThreadExtraInfo"):
            return b"sysgate".hex().encode()
        return b""

    def _cmd_Q(self, text):
        name, _, arg = text.partition(":")
        if name == "StartNoAckMode":
            self.conn.send("OK")      # acknowledged in ack mode, then none
            self.conn.ack = False
            return None
        if name == "CatchSyscalls":
            on, _, nrs = arg.partition(";")
            if on == "0":
                self.target.catch_syscalls(None)
            elif on == "1":
                self.target.catch_syscalls({_hexint(n) for n in nrs.split(";") if n})
            else:
                raise Malformed(text)
            return b"OK"
        if name == "PassSignals":
            sigs = {from_gdb_signal(_hexint(s)) for s in arg.split(";") if s}
            self.target.pass_signals(sigs - {0})
            return b"OK"
        return b""

    def _xfer(self, arg):
        parts = arg.split(":")
        if len(parts) != 4 or parts[1] != "read":
            return b""
        obj, _, annex, spec = parts
        t = self.target
        if obj == "features":
            if annex != "target.xml":
                return E_FAULT
            return _xfer_slice(t.layout.target_xml().encode(), spec)
        if obj == "auxv":
            return _xfer_slice(t.auxv(), spec)
        if obj == "libraries-svr4":
            return _xfer_slice(t.libraries_svr4(), spec)
        if obj == "siginfo":
            info = t.siginfo()
            return E_FAULT if info is None else _xfer_slice(info, spec)
        if obj == "exec-file":
            return _xfer_slice(t.exec_file(), spec)
        if obj == "threads":
            return _xfer_slice(self._threads_xml(), spec)
        return b""

    def _threads_xml(self):
        """qXfer:threads: every thread with its name, as gdbserver lists them."""
        from xml.sax.saxutils import quoteattr
        t = self.target
        rows = "".join(f'<thread id="{self.thread_id(tid)}" name={quoteattr(t.thread_name(tid))}/>'
                       for tid in t.threads())
        return f"<?xml version=\"1.0\"?>\n<threads>{rows}</threads>".encode()

    def _cmd_H(self, text):
        if len(text) < 2 or text[0] not in "gc":
            raise Malformed(text)
        tid = self._parse_thread(text[1:])
        if tid is not None and tid not in self.target.threads():
            return b"E02"
        if text[0] == "g":
            self.target.select(tid)
        return b"OK"

    def _cmd_T(self, text):
        tid = self._parse_thread(text)
        return b"OK" if tid is None or tid in self.target.threads() else b"E02"

    def _cmd_g(self, text):
        t, lay = self.target, self.target.layout
        return b"".join(lay.encode(n, t.read_reg(n)) for n in lay.names).hex().encode()

    def _cmd_G(self, text):
        lay = self.target.layout
        raw = bytes.fromhex(text)
        off = 0
        for n in lay.names:
            size = lay.size(n)
            if off + size > len(raw):
                break
            self.target.write_reg(n, lay.decode(n, raw[off:off + size]))
            off += size
        return b"OK"

    def _cmd_p(self, text):
        lay = self.target.layout
        i = _hexint(text)
        if not 0 <= i < len(lay.names):
            return b"E00"
        n = lay.names[i]
        return lay.encode(n, self.target.read_reg(n)).hex().encode()

    def _cmd_P(self, text):
        lay = self.target.layout
        num, sep, value = text.partition("=")
        i = _hexint(num)
        if not sep or not 0 <= i < len(lay.names):
            return b"E00"
        n = lay.names[i]
        raw = bytes.fromhex(value)
        if len(raw) != lay.size(n):
            return E_INVAL
        self.target.write_reg(n, lay.decode(n, raw))
        return b"OK"

    def _cmd_m(self, text):
        addr, n = _addr_len(text)
        n = min(n, (PACKET_SIZE - 16) // 2)
        data = self.target.read_memory(addr, n) if n else b""
        if n and not data:
            return E_FAULT
        return data.hex().encode()

    def _cmd_M(self, text):
        where, sep, hexdata = text.partition(":")
        if not sep:
            raise Malformed(text)
        addr, n = _addr_len(where)
        data = bytes.fromhex(hexdata)
        if len(data) != n:
            raise Malformed(text)
        return b"OK" if self.target.write_memory(addr, data) else E_FAULT

    def _write_binary(self, body):
        head, sep, raw = body.partition(b":")
        if not sep:
            raise Malformed(body)
        addr, n = _addr_len(head.decode("latin-1"))
        data = raw   # the Connection's framing keeps escapes: undo them here
        from .rsp import unescape
        data = unescape(data)
        if len(data) != n:
            raise Malformed(body)
        if n == 0:
            return b"OK"              # gdb's probe for X support
        return b"OK" if self.target.write_memory(addr, data) else E_FAULT

    def _cmd_Z(self, text, insert=True):
        parts = text.split(",")
        if len(parts) < 3:
            raise Malformed(text)
        ztype, addr, kind = _hexint(parts[0]), _hexint(parts[1]), _hexint(parts[2].split(";")[0])
        if ztype > 4:
            return b""
        done = self.target.breakpoint(ztype, addr, kind, insert)
        if done is None:
            return b""
        return b"OK" if done else b"E01"

    def _cmd_z(self, text):
        return self._cmd_Z(text, insert=False)

    def _cmd_c(self, text):
        return Resume("continue")

    def _cmd_s(self, text):
        return Resume("step")

    def _cmd_C(self, text):
        return Resume("continue", from_gdb_signal(_hexint(text.split(";")[0])))

    def _cmd_S(self, text):
        return Resume("step", from_gdb_signal(_hexint(text.split(";")[0])))

    def _cmd_k(self, text):
        return Resume("kill")

    def _cmd_D(self, text):
        return Resume("detach")

    def _cmd_v(self, text):
        if text == "Cont?":
            return b"vCont;c;C;s;S"
        if text.startswith("Cont;"):
            return self._vcont(text[5:])
        if text.startswith("Kill"):
            self.conn.send("OK")
            return Resume("kill")
        if text.startswith("File:"):
            return self._vfile(text[5:])
        if text == "MustReplyEmpty":
            return b""
        return b""

    def _vcont(self, text):
        mine = self.target.threads()
        for action in text.split(";"):
            act, _, tid = action.partition(":")
            if tid and self._parse_thread(tid) not in (None, *mine):
                continue
            if not act or act[0] not in "cCsS":
                return E_INVAL
            sig = from_gdb_signal(_hexint(act[1:])) if act[0] in "CS" else 0
            return Resume("continue" if act[0] in "cC" else "step", sig)
        return E_INVAL
