"""The gdb stub (sysgate/debug): its packet layer and commands against a
fake target, then the host's gdb attached to `sysgate run -g` compared with
the same gdb script against gdbserver running the program natively."""
import os
import random
import re
import select
import shutil
import socket
import subprocess
import time

import pytest

from conftest import ROOT, build, sysgate_cmd
from sysgate.debug import gdbstub, regs, rsp
from sysgate.debug.gdbstub import GdbStub, Resume, Stop

# --- the packet layer -----------------------------------------------------------


def test_frame_and_checksum():
    assert rsp.frame(b"OK") == b"$OK#9a"
    assert rsp.frame(b"") == b"$#00"
    assert rsp.checksum(b"qSupported") == 0x37


def test_escape_round_trip():
    data = bytes(range(256)) * 2
    esc = rsp.escape(data)
    assert not set(esc) & set(b"#$*") and esc.count(b"}") == 2 * 4 // 2 * 2
    assert rsp.unescape(esc) == data
    with pytest.raises(ValueError):
        rsp.unescape(b"ab}")


def test_parser_events_split_anywhere():
    stream = b"+$g#67-\x03$m0,4#fd$bad#00$$p1#a1junk+"
    want = [("ack", b"+"), ("packet", b"g"), ("ack", b"-"), ("interrupt",),
            ("packet", b"m0,4"), ("bad", b"bad"), ("packet", b"p1"), ("ack", b"+")]
    assert rsp.Parser().feed(stream) == want
    for cut in range(1, len(stream)):
        p = rsp.Parser()
        assert p.feed(stream[:cut]) + p.feed(stream[cut:]) == want


def test_parser_bad_checksum_characters():
    assert rsp.Parser().feed(b"$g#zz") == [("bad", b"g")]


def test_run_length_encoding():
    for data in [b"0" * n for n in range(1, 300)] + [b"abc", b"0000111122223333", b""]:
        enc = rsp.rle_encode(data)
        assert rsp.rle_decode(enc) == data
        i = 0
        while i < len(enc):
            if enc[i] == ord("*"):
                assert enc[i + 1] not in b"#$*}"
                i += 1
            i += 1
    assert rsp.rle_encode(b"0" * 8) == b"0*\"00"   # 7 more would be "$", 6 "#": 5 more
    assert len(rsp.rle_encode(b"0" * 64)) < 10


def test_connection_acks_interrupts_and_hangup():
    a, b = socket.socketpair()
    b.settimeout(10)
    hits = []
    conn = rsp.Connection(a, lambda eof=False: hits.append(eof))
    b.sendall(b"$g#00$g#67")                  # a corrupted packet, then a good one
    assert conn.receive() == b"g"
    assert b.recv(2) == b"-+"
    b.sendall(b"\x03")                        # stopped: ^C means nothing
    b.sendall(b"+")                            # gdb's ack for the reply below
    conn.send("OK")
    assert b.recv(16) == b"$OK#9a"
    conn.running = True
    b.sendall(b"\x03")
    deadline = time.monotonic() + 10
    while not hits and time.monotonic() < deadline:
        time.sleep(0.01)
    assert hits == [False]
    b.close()
    assert conn.receive() is None and conn.receive() is None
    conn.close()


# --- the commands, against a fake target -----------------------------------------------


class FakeTarget:
    def __init__(self, layout=regs.AMD64):
        self.layout = layout
        self.pid = 0x64
        self.values = {n: i * 0x0101 for i, n in enumerate(layout.names)}
        for i in range(8):
            self.values[f"st{i}"] = bytes(range(i, i + 10))
        self.mem = {0x1000: bytearray(range(256)) * 16}     # one page at 0x1000
        self.bps = {}
        self.catching = "off"
        self.passed = set()

    def threads(self):
        return [0x64]

    def select(self, tid):
        self.selected = tid

    def thread_name(self, tid):
        return "fake"

    def read_reg(self, name):
        return self.values[name]

    def write_reg(self, name, value):
        self.values[name] = value

    def read_memory(self, addr, n):
        page = self.mem[0x1000]
        lo, hi = max(addr, 0x1000), min(addr + n, 0x2000)
        if addr < 0x1000 or hi <= lo:
            return b""
        return bytes(page[lo - 0x1000:hi - 0x1000])

    def write_memory(self, addr, data):
        if addr < 0x1000 or addr + len(data) > 0x2000:
            return False
        self.mem[0x1000][addr - 0x1000:addr - 0x1000 + len(data)] = data
        return True

    def breakpoint(self, ztype, addr, kind, insert):
        if ztype > 1:
            return None
        if insert:
            self.bps[addr] = ztype
        else:
            self.bps.pop(addr, None)
        return True

    def siginfo(self):
        return b"\x0b" + b"\0" * 127

    def libraries_svr4(self):
        return b'<library-list-svr4 version="1.0"/>'

    def auxv(self):
        return bytes(range(48))

    def exec_file(self):
        return b"/bin/prog"

    def open_file(self, path):
        import io
        if path == b"/f":
            return io.BytesIO(b"contents #$}*")
        raise FileNotFoundError(2, "no")

    def readlink(self, path):
        return b"/bin/prog"

    def catch_syscalls(self, which):
        self.catching = which

    def pass_signals(self, signos):
        self.passed = set(signos)


class FakeConn:
    def __init__(self, incoming=()):
        self.incoming = list(incoming)
        self.sent = []
        self.ack = True
        self.running = False

    def send(self, data):
        self.sent.append(data.encode() if isinstance(data, str) else data)

    def receive(self):
        return self.incoming.pop(0) if self.incoming else None


def stub(layout=regs.AMD64):
    t = FakeTarget(layout)
    return GdbStub(FakeConn(), t), t


def test_qsupported_and_noack():
    s, t = stub()
    r = s.handle(b"qSupported:multiprocess+;swbreak+;xmlRegisters=i386")
    assert b"PacketSize=4000" in r and b"qXfer:features:read+" in r and b"multiprocess+" in r
    assert s.handle(b"QStartNoAckMode") is None
    assert s.conn.sent == [b"OK"] and s.conn.ack is False


def test_target_description_in_pieces():
    for lay in (regs.AMD64, regs.I386):
        s, t = stub(lay)
        xml = b""
        off = 0
        while True:
            r = s.handle(b"qXfer:features:read:target.xml:%x,100" % off)
            xml += r[1:]
            off += len(r) - 1
            if r[:1] == b"l":
                break
            assert r[:1] == b"m"
        assert xml == lay.target_xml().encode()
        assert xml.count(b"<reg ") == len(lay.names)
        assert s.handle(b"qXfer:features:read:other.xml:0,100") == b"E0e"


def test_register_numbering_matches_gdb():
    a, i = regs.AMD64, regs.I386
    assert (a.index["rip"], a.index["eflags"], a.index["st0"], a.index["fop"], a.index["xmm0"],
            a.index["mxcsr"], a.index["orig_rax"], a.index["fs_base"], a.index["gs_base"]) == \
        (16, 17, 24, 39, 40, 56, 57, 58, 59)
    assert (i.index["eip"], i.index["st0"], i.index["xmm0"], i.index["mxcsr"],
            i.index["orig_eax"]) == (8, 16, 32, 40, 41)


def test_g_and_G_round_trip():
    for lay in (regs.AMD64, regs.I386):
        s, t = stub(lay)
        g = s.handle(b"g")
        assert len(g) == sum(bits for _, bits, _ in lay.regs) // 4
        before = dict(t.values)
        assert s.handle(b"G" + g) == b"OK"
        assert t.values == before
        raw = bytearray(bytes.fromhex(g.decode()))
        raw[0] ^= 0xFF
        s.handle(b"G" + raw.hex().encode())
        assert t.values[lay.names[0]] == before[lay.names[0]] ^ 0xFF


def test_p_and_P():
    s, t = stub()
    assert s.handle(b"p10") == (0x1010).to_bytes(8, "little").hex().encode()   # rip
    assert s.handle(b"p18") == bytes(range(0, 10)).hex().encode()               # st0
    assert s.handle(b"P10=" + (0x401000).to_bytes(8, "little").hex().encode()) == b"OK"
    assert t.values["rip"] == 0x401000
    assert s.handle(b"p3c") == b"E00"           # past the last register
    assert s.handle(b"P10=00") == b"E16"        # wrong size
    assert s.handle(b"Pzz=00") == b"E16"


def test_memory_reads_and_writes():
    s, t = stub()
    assert s.handle(b"m1000,4") == b"00010203"
    assert s.handle(b"m1ffe,8") == b"feff"        # as far as memory goes
    assert s.handle(b"m0,4") == b"E0e"
    assert s.handle(b"m1000,0") == b""
    assert s.handle(b"M1000,2:abcd") == b"OK" and t.mem[0x1000][:2] == b"\xab\xcd"
    assert s.handle(b"M3000,1:00") == b"E0e"
    assert s.handle(b"M1000,2:ab") == b"E16"       # length disagrees with the data
    assert s.handle(b"X1000,4:" + rsp.escape(b"#$}*")) == b"OK"
    assert t.mem[0x1000][:4] == b"#$}*"
    assert s.handle(b"X1000,0:") == b"OK"
    assert s.handle(b"X1000,2:}") == b"E16"


def test_breakpoints_and_resume():
    s, t = stub()
    assert s.handle(b"Z0,401000,1") == b"OK" and t.bps == {0x401000: 0}
    assert s.handle(b"z0,401000,1") == b"OK" and t.bps == {}
    assert s.handle(b"Z1,401000,1") == b"OK" and t.bps == {0x401000: 1}
    assert s.handle(b"Z2,601000,4") == b""      # unsupported by the fake target
    assert s.handle(b"Z9,0,0") == b""
    assert s.handle(b"vCont?") == b"vCont;c;C;s;S"
    r = s.handle(b"vCont;S0b:p64.64;c")
    assert (r.action, r.signo) == ("step", 11)
    r = s.handle(b"vCont;s:p65.65;C1e")          # another thread steps; ours continues
    assert (r.action, r.signo) == ("continue", 10)   # gdb's 30 is Linux's SIGUSR1
    assert s.handle(b"c").action == "continue"
    assert s.handle(b"s").action == "step"
    assert s.handle(b"C0e").signo == 14
    assert s.handle(b"k").action == "kill"


def test_queries():
    s, t = stub()
    s.handle(b"qSupported:multiprocess+")
    assert s.handle(b"qC") == b"QCp64.64"
    assert s.handle(b"qfThreadInfo") == b"mp64.64"
    assert s.handle(b"qsThreadInfo") == b"l"
    assert s.handle(b"qAttached") == b"0"
    assert s.handle(b"Hgp64.64") == b"OK"
    assert s.handle(b"Hgp64.65") == b"E02"
    assert s.handle(b"Hc-1") == b"OK"
    assert s.handle(b"Hgp64.64") == b"OK" and t.selected == 0x64
    assert s.handle(b"Hgzz") == b"E16" and s.handle(b"Hx1") == b"E16"
    assert s.handle(b"qXfer:threads:read::0,fff") == (
        b'l<?xml version="1.0"?>\n<threads><thread id="p64.64" name="fake"/></threads>')
    assert s.handle(b"qXfer:threads:read::zz") == b"E16"
    assert s.handle(b"qXfer:auxv:read::10,100") == b"l" + bytes(range(16, 48))
    assert s.handle(b"qXfer:auxv:read::100,100") == b"l"
    assert s.handle(b"qXfer:exec-file:read:64:0,fff") == b"l/bin/prog"
    assert s.handle(b"qXfer:siginfo:read::0,8") == b"m\x0b" + b"\0" * 7
    assert s.handle(b"QCatchSyscalls:1;1;e7") == b"OK" and t.catching == {1, 0xE7}
    assert s.handle(b"QCatchSyscalls:1") == b"OK" and t.catching == set()
    assert s.handle(b"QCatchSyscalls:0") == b"OK" and t.catching is None
    assert s.handle(b"QPassSignals:e;14;1e") == b"OK" and t.passed == {14, 17, 10}


def test_vfile():
    s, t = stub()
    assert s.handle(b"vFile:setfs:0") == b"F0"
    assert s.handle(b"vFile:open:%s,0,0" % b"/f".hex().encode()) == b"F1"
    assert s.handle(b"vFile:pread:1,4,9") == b"F4;#$}*"
    assert s.handle(b"vFile:fstat:1")[:4] == b"F40;"
    assert s.handle(b"vFile:close:1") == b"F0"
    assert s.handle(b"vFile:close:1") == b"F-1,9"
    assert s.handle(b"vFile:open:%s,0,0" % b"/nope".hex().encode()) == b"F-1,2"
    assert s.handle(b"vFile:open:%s,1,0" % b"/f".hex().encode()) == b"F-1,d"
    assert s.handle(b"vFile:readlink:%s" % b"/x".hex().encode()) == b"F9;/bin/prog"


def test_stop_replies_and_signals():
    s, t = stub()
    s.handle(b"qSupported:multiprocess+")
    r = s.stop_reply(Stop(5, ("swbreak", "")))
    assert r.startswith(b"T05") and b"thread:p64.64;" in r and r.endswith(b"swbreak:;")
    assert b"10:1010000000000000;" in r       # rip expedited
    assert s.stop_reply(Stop(10)).startswith(b"T1e")      # SIGUSR1
    assert s.stop_reply(Stop(5, ("syscall_entry", "1"))).endswith(b"syscall_entry:1;")
    assert [gdbstub.to_gdb_signal(n) for n in (2, 7, 10, 11, 12, 17, 19, 23, 29, 31, 34, 64)] == \
        [2, 10, 30, 11, 31, 20, 17, 16, 23, 12, 46, 78]
    for n in range(1, 65):
        if n != 16:
            assert gdbstub.from_gdb_signal(gdbstub.to_gdb_signal(n)) == n
    s.exited("exit", 3)
    s.exited("signal", 11)
    assert s.conn.sent[-2:] == [b"W03;process:64", b"X0b;process:64"]


def test_stopped_serves_until_resumed():
    s, t = stub()
    s.conn.incoming = [b"?", b"g", b"vCont;c"]
    r = s.stopped(Stop(5), report=False)
    assert r.action == "continue"
    assert s.conn.sent[0].startswith(b"T05") and len(s.conn.sent) == 2
    s.conn.incoming = []
    assert s.stopped(Stop(11)).action == "detach"      # gdb went away: run on
    assert s.conn.sent[-1].startswith(b"T0b")


def test_svr4_library_list_from_memory():
    """auxv -> program headers -> PT_DYNAMIC's DT_DEBUG -> r_debug -> link_maps,
    with a cycle in the chain, for both word sizes."""
    import struct
    from sysgate.debug import svr4
    for word, q in ((8, "Q"), (4, "I")):
        mem = {}

        def put(addr, data):
            for i, b in enumerate(data):
                mem[addr + i] = b

        def read(addr, n):
            out = bytearray()
            while len(out) < n and addr + len(out) in mem:
                out.append(mem[addr + len(out)])
            return bytes(out)
        bias, phdr = 0x550000, 0x550040
        if word == 8:
            ph = struct.pack("<IIQQQQQQ", 6, 4, 0x40, 0x40, 0, 112, 112, 8) + \
                struct.pack("<IIQQQQQQ", 2, 6, 0x100, 0x2000, 0, 32, 32, 8)
        else:
            ph = struct.pack("<IIIIIIII", 6, 0x40, 0x40, 0, 64, 64, 4, 4) + \
                struct.pack("<IIIIIIII", 2, 0x100, 0x2000, 0, 32, 32, 6, 4)
        put(phdr, ph)
        dyn = bias + 0x2000
        put(dyn, struct.pack(f"<{q}{q}{q}{q}{q}{q}", 1, 5, 21, 0x9000, 0, 0))
        put(0x9000 + word, struct.pack(f"<{q}", 0xA000))          # r_debug.r_map
        put(0xA000, struct.pack(f"<5{q}", 0, 0, 0, 0xB000, 0))     # the program
        put(0xB000, struct.pack(f"<5{q}", 0x7000, 0xC000, 0x7100, 0xA000, 0xA000))
        put(0xC000, b"/lib/libc.so.6\0")
        auxv = struct.pack(f"<6{q}", 3, phdr, 5, 2, 0, 0)
        doc = svr4.library_list(read, auxv, word)
        assert doc == (b'<library-list-svr4 version="1.0" main-lm="0xa000"><library '
                       b'name="/lib/libc.so.6" lm="0xb000" l_addr="0x7000" l_ld="0x7100" '
                       b'lmid="0x0"/></library-list-svr4>'), doc
        put(0x9000 + word, struct.pack(f"<{q}", 0))                 # ld.so not there yet
        assert svr4.library_list(read, auxv, word) == b'<library-list-svr4 version="1.0"/>'
        assert svr4.library_list(read, b"", word) == b'<library-list-svr4 version="1.0"/>'


MALFORMED = [b"m", b"mzz,1", b"m1000", b"M1000,1", b"M1000,1:zz", b"X", b"X1000", b"Xq,1:a",
             b"P", b"p", b"pzz", b"G0", b"Gzz", b"Z0", b"Z0,zz,1", b"z", b"H", b"Hx1", b"Hgpzz.1",
             b"T", b"C", b"Czz", b"S", b"vCont;", b"vCont;x", b"vCont;Czz", b"qXfer:auxv:read::",
             b"qXfer:auxv:read::zz,1", b"qXfer:features:read:target.xml:1",
             b"QCatchSyscalls:2", b"QCatchSyscalls:1;zz", b"QPassSignals:zz", b"vFile:open:zz",
             b"vFile:pread:1", b"vFile:pread:zz,1,1", b"\xff\xfe", b"qSupported:\xff",
             b"}", b"#", b"$", b"\x00"]


def test_malformed_packets_get_errors_never_exceptions():
    s, t = stub()
    for pkt in MALFORMED:
        r = s.handle(pkt)
        assert r is None or isinstance(r, (bytes, Resume)), pkt
        if isinstance(r, bytes) and pkt[:1] in b"mMXPpGZzHT":
            assert r == b"" or r.startswith(b"E"), (pkt, r)
    rng = random.Random(15)
    for _ in range(3000):
        pkt = bytes(rng.choice(b"mMXpPgGZzHTqQvCcSsk?:;,#$}*0123456789abcdefxp.-")
                    for _ in range(rng.randrange(12)))
        r = s.handle(pkt)
        assert r is None or isinstance(r, (bytes, Resume)), pkt
    assert s.handle(b"qFooBar") == b"" and s.handle(b"!") == b""


# --- the host gdb against sysgate and against gdbserver ---------------------------------

GDB = shutil.which("gdb")
GDBSERVER = shutil.which("gdbserver")
needs_gdb = pytest.mark.skipif(
    GDB is None or GDBSERVER is None,
    reason="gdb and gdbserver are not installed (tests/run installs them)")
TIMEOUT = 60


def _wait_for(stream, pattern, deadline):
    """Read stream (a pipe) until pattern matches what was read; its match."""
    buf = b""
    while time.monotonic() < deadline:
        r, _, _ = select.select([stream], [], [], max(deadline - time.monotonic(), 0))
        if not r:
            break
        chunk = os.read(stream.fileno(), 4096)
        if not chunk:
            break
        buf += chunk
        m = re.search(pattern, buf)
        if m:
            return m
    raise AssertionError(f"server never said {pattern!r}: {buf!r}")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sysgate(exe, args=(), opts=()):
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.Popen(sysgate_cmd(*opts, "-g", "0", exe, *args), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    m = _wait_for(p.stderr, rb"waiting for gdb on 127\.0\.0\.1:(\d+)\n", time.monotonic() + 30)
    return p, int(m[1])


def start_gdbserver(exe, args=()):
    port = _free_port()
    p = subprocess.Popen([GDBSERVER, f"127.0.0.1:{port}", exe, *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    _wait_for(p.stderr, rb"Listening on port", time.monotonic() + 30)
    return p, port


def run_gdb(port, commands, script=None):
    cmd = [GDB, "-nx", "-batch", "-iex", "set debuginfod enabled off",
           "-ex", f"target remote 127.0.0.1:{port}"]
    for c in commands:
        cmd += ["-ex", c]
    if script:
        cmd += ["-x", script]
    r = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def normalize(text):
    """gdb's output modulo what differs between two runs of a program: stack,
    mapping and vDSO addresses, pids, and the file-transfer chatter."""
    out = []
    for line in text.splitlines():
        if line.startswith(("Reading ", "warning: ")) or "Use \"set sysroot\"" in line:
            continue
        line = re.sub(r"0x0*([0-9a-f]{8,})", "ADDR", line)
        line = re.sub(r"process \d+", "process N", line)
        line = re.sub(r"Thread \d+\.\d+", "Thread P.T", line)
        out.append(line)
    return "\n".join(out)


def gdb_session(server, exe, args, commands, script=None):
    p, port = server(exe, args)
    try:
        text = run_gdb(port, commands, script)
        out, _ = p.communicate(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return normalize(text), out, p.returncode


def compare(exe, args, commands, script=None):
    want, want_out, want_rc = gdb_session(start_gdbserver, exe, args, commands, script)
    got, got_out, got_rc = gdb_session(start_sysgate, exe, args, commands, script)
    assert got == want, f"--- gdbserver:\n{want}\n--- sysgate:\n{got}"
    assert got_out == want_out
    return got


def guest(variant):
    return build("gdb_target.c", variant, ["-g", "-O0"])


@needs_gdb
@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_gdb_break_step_catch_syscall(variant):
    pc = "rip" if variant == "gcc64" else "eip"
    ax = "rax" if variant == "gcc64" else "eax"
    text = compare(guest(variant), [], [
        "break square", "continue", "print x", "next", "print y", "bt",
        f"info registers {pc}", "print counter", "delete 1", "catch syscall write",
        "continue", "continue", f"info registers {ax}", "continue"])
    assert "Breakpoint 1, square (x=1)" in text and "$2 = 1" in text
    assert "(call to syscall write)" in text and "(returned from syscall write)" in text
    assert "exited normally" in text


@needs_gdb
@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_gdb_sees_the_fault(variant):
    text = compare(guest(variant), ["segv"], [
        "continue", "print $_siginfo.si_signo", "print $_siginfo._sifields._sigfault.si_addr",
        "bt", "continue"])
    assert "Program received signal SIGSEGV" in text and "(void *) 0x10" in text
    assert "Program terminated with signal SIGSEGV" in text


@needs_gdb
def test_gdb_siginfo_at_each_kind_of_stop():
    text = compare(guest("gcc64"), [], [
        "break square", "continue", "print $_siginfo.si_code", "stepi",
        "print $_siginfo.si_code", "watch counter", "continue", "print $_siginfo.si_code",
        "delete", "catch syscall write", "continue", "print $_siginfo.si_code", "kill"])
    assert re.findall(r"^\$\d = (\d+)$", text, re.M) == ["128", "2", "4", "133"], text


@needs_gdb
def test_gdb_passes_a_handled_signal():
    """Stopped at the signal, a stepi enters the handler and stops at its
    first instruction, as Linux reports a step into a handler."""
    text = compare(guest("gcc64"), ["usr1"], ["continue", "stepi", "x/i $pc", "bt 1",
                                              "stepi", "x/i $pc", "continue"])
    assert "Program received signal SIGUSR1" in text
    assert re.search(r"=> ADDR <on_usr1>:|=> 0x[0-9a-f]+ <on_usr1>:", text), text


@needs_gdb
def test_gdb_stepi_from_a_syscall_entry_stop():
    """A step from a syscall-entry stop ends right after the call (the call
    was the instruction), with no syscall-return stop, as with ptrace."""
    text = compare(guest("gcc64"), [], [
        "break write", "continue", "catch syscall write", "continue", "stepi",
        "print $rax", "print (long)$pc - (long)write", "stepi",
        "print (long)$pc - (long)write", "kill"])
    assert "returned from syscall" not in text and "$1 = 9" in text


@needs_gdb
def test_gdb_stepi_over_the_syscall_instruction(tmp_path):
    script = tmp_path / "steps.gdb"
    script.write_text("break write\ncontinue\n"
                      "while *(unsigned short *)$pc != 0x050f\n  stepi\nend\n"
                      "print (long)$pc - (long)write\nstepi\nprint (long)$pc - (long)write\n"
                      "print $rax\nprint (long)$rcx - (long)write\ncontinue\n")
    text = compare(guest("gcc64"), [], [], str(script))
    # One stepi ran the SYSCALL and the whole write: RIP just after it, RAX
    # the count written, RCX the return address.
    steps = re.findall(r"^\$(\d) = (\d+)$", text, re.M)
    assert [v for _, v in steps][1:] == [str(int(steps[0][1]) + 2), "9",
                                         str(int(steps[0][1]) + 2)], text


@needs_gdb
@pytest.mark.parametrize("cpu, gate", [("intel", "sysenter"), ("amd", "syscall"),
                                       ("i486", "int    $0x80")])
def test_gdb_stepi_over_each_32bit_gate(tmp_path, cpu, gate):
    """One stepi runs the vDSO's gate instruction and the whole system call,
    whichever gate the CPU model patched into __kernel_vsyscall."""
    script = tmp_path / "steps.gdb"
    script.write_text("break write\ncontinue\n"
                      "while *(unsigned short *)$pc != 0x340f && *(unsigned short *)$pc != 0x050f"
                      " && *(unsigned short *)$pc != 0x80cd\n  stepi\nend\n"
                      "x/i $pc\nprint $eax\nstepi\nprint $eax\nx/i $pc\ncontinue\n")
    p, port = start_sysgate(guest("gcc32"), [], ["--cpu", cpu])
    try:
        text = normalize(run_gdb(port, [], str(script)))
        out, _ = p.communicate(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert re.search(rf"<__kernel_vsyscall\+\d+>:\s+{re.escape(gate)}\n\$1 = 4\n", text), text
    assert re.search(r"\$2 = 9\n=> ADDR <__kernel_vsyscall\+\d+>:\s+pop ", text), text
    assert out == b"total 14\n" and "exited normally" in text


@needs_gdb
@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_gdb_watchpoints(variant):
    text = compare(guest(variant), [], [
        "watch counter", "continue", "continue", "rwatch counter", "continue", "delete",
        "awatch counter", "continue", "delete", "continue"])
    assert "Old value = 1\nNew value = 5" in text and "Value = 5" in text
    assert "Hardware access (read/write) watchpoint 3: counter\n\nOld value = 5" in text


@needs_gdb
@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_gdb_hbreak_and_the_fpu_registers(variant):
    text = compare(guest(variant), [], [
        "hbreak square", "continue", "info registers float", "print $mxcsr",
        "info registers eflags cs ss fs", "print $orig_rax" if variant == "gcc64" else
        "print $orig_eax", "set var $xmm7.v2_int64[1] = 0x1122334455667788",
        "set var $xmm7.v2_int64[0] = -2",
        "print/x $xmm7.v4_int32", "set var $mxcsr = 0x1f00", "print $mxcsr",
        "set var $fctrl = 0x27f", "print $fctrl", "tbreak main", "kill"])
    assert "Hardware assisted breakpoint 1 at" in text and "Breakpoint 1, square (x=1)" in text
    assert "fctrl          0x37f" in text and "[ IM DM ZM OM UM PM ]" in text


@needs_gdb
def test_gdb_follows_exec():
    exe = guest("gcc64")
    text = compare(exe, ["exec", exe], ["catch exec", "continue", "break square", "continue",
                                        "bt", "delete", "continue"])
    assert "is executing new program" in text and "Breakpoint 2, square (x=1)" in text


@needs_gdb
@pytest.mark.parametrize("variant", ["gcc64-dyn", "gcc32-dyn"])
def test_gdb_dynamic_program_libraries(variant):
    exe = build("gdb_target.c", variant, ["-g", "-O0"])
    text = compare(exe, [], ["info sharedlibrary", "break square", "continue",
                             "info sharedlibrary", "bt", "delete 1", "print (int)square(5)",
                             "continue"])
    assert "libc.so.6" in text and "/ld-linux" in text and "$1 = 25" in text


@needs_gdb
def test_gdb_stays_with_the_parent_of_a_fork():
    """The forked child runs free (gdb's default follow-fork-mode parent):
    it never stops at the breakpoint it inherited; the parent does."""
    p, port = start_sysgate(guest("gcc64"), ["fork"])
    try:
        text = run_gdb(port, ["break square if x > 5", "continue", "print x", "continue"])
        out, _ = p.communicate(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert "$1 = 8" in text and "exited normally" in text, text
    assert sorted(out.splitlines()) == [b"child 49", b"parent 64", b"total 14"]


@needs_gdb
def test_gdb_under_root_sees_the_guests_own_proc(tmp_path):
    """With --root, gdb reads the program and /proc as the guest names them:
    the program at its guest path, the guest's maps, cmdline and cwd."""
    exe = tmp_path / "prog"
    shutil.copy(guest("gcc64"), exe)
    p, port = start_sysgate(str(exe), ["segv"], ["--root", str(tmp_path)])
    try:
        text = run_gdb(port, ["break square", "continue", "info proc", "info proc mappings",
                              "bt 1", "kill"])
    finally:
        p.kill()
        p.wait()
    assert f"cmdline = '{exe} segv'" in text and "cwd = '/'" in text and "exe = '/prog'" in text
    assert re.search(r"r-xp +/prog\n", text) and "[vdso]" in text and "[stack]" in text
    assert "square (x=1) at" in text and "unable to" not in text, text


# --- the protocol by hand: interrupts, garbage, detach --------------------------------


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.parser = rsp.Parser()
        self.events = []

    def _event(self):
        while not self.events:
            data = self.sock.recv(65536)
            if not data:
                return ("eof",)
            self.events += self.parser.feed(data)
        return self.events.pop(0)

    def send_raw(self, raw):
        self.sock.sendall(raw)

    def ask(self, data):
        """Send a packet in ack mode; the ack and the reply's data."""
        self.send_raw(rsp.frame(data))
        ack = self._event()
        return ack, self.reply()

    def reply(self):
        while True:
            ev = self._event()
            if ev[0] in ("packet", "eof"):
                break
        if ev[0] == "packet":
            self.send_raw(b"+")
            return ev[1]
        return None


def test_protocol_garbage_interrupt_and_kill():
    p, port = start_sysgate(guest("gcc64"), ["spin"])
    try:
        c = Client(port)
        c.send_raw(b"$g#00")                       # bad checksum: a '-', no reply
        assert c._event() == ("ack", b"-")
        assert c.ask(b"qSupported:multiprocess+")[0] == ("ack", b"+")
        assert c.ask(b"?")[1].startswith(b"T05")
        assert c.ask(b"m0,10")[1] == b"E0e"
        assert c.ask(b"mffffffffffff0000,10")[1] == b"E0e"
        assert c.ask(b"p99")[1] == b"E00"
        for pkt in MALFORMED[:20]:
            ack, r = c.ask(pkt)
            assert ack == ("ack", b"+") and (r == b"" or r.startswith(b"E")), (pkt, r)
        c.send_raw(rsp.frame(b"c"))
        assert c._event() == ("ack", b"+")
        time.sleep(0.5)
        c.send_raw(b"\x03")                          # ^C while the guest computes
        stop = c.reply()
        assert stop.startswith(b"T02"), stop          # SIGINT, kept from the guest
        ack, r = c.ask(b"vKill;%x" % p.pid)
        assert r == b"OK"
        p.wait(timeout=TIMEOUT)
        assert p.returncode == -9
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_interrupt_a_blocking_call_then_detach():
    p, port = start_sysgate(guest("gcc64"), ["sleep"])
    try:
        c = Client(port)
        c.ask(b"QStartNoAckMode")
        c.send_raw(rsp.frame(b"c"))
        time.sleep(0.5)
        c.send_raw(b"\x03")
        assert c.reply().startswith(b"T02")
        # Detached, the guest runs on: its sleep restarted, as after a
        # signal that had no handler.
        c.send_raw(rsp.frame(b"D"))
        assert c.reply() == b"OK"
        assert c.reply() is None                      # the stub hung up
        with pytest.raises(subprocess.TimeoutExpired):
            p.wait(timeout=1)
    finally:
        p.kill()
        p.wait()


@pytest.mark.parametrize("resume, want", [(b"c", b"slept counter 14\n"),
                                          (b"C02", b"cut short counter 1016\n")])
def test_interrupted_sleep_restarts_unless_gdb_passes_the_signal(resume, want):
    """^C while the guest sleeps with a SIGINT handler: continuing without
    the signal restarts the sleep (as when a tracer suppresses a signal);
    passing it runs the handler and the sleep is cut short."""
    p, port = start_sysgate(guest("gcc64"), ["sleepint"])
    try:
        c = Client(port)
        c.ask(b"QStartNoAckMode")
        # Into the sleep first (clock_nanosleep, 230), so the ^C finds it there.
        c.send_raw(rsp.frame(b"QCatchSyscalls:1;e6"))
        assert c.reply() == b"OK"
        c.send_raw(rsp.frame(b"c"))
        assert b"syscall_entry:e6;" in c.reply()
        c.send_raw(rsp.frame(b"QCatchSyscalls:0"))
        assert c.reply() == b"OK"
        c.send_raw(rsp.frame(b"c"))
        time.sleep(0.5)
        c.send_raw(b"\x03")
        stop = c.reply()
        assert stop.startswith(b"T02"), stop
        c.send_raw(rsp.frame(resume))
        assert c.reply().startswith(b"W00")
        out, _ = p.communicate(timeout=TIMEOUT)
        assert out == b"total 14\n" + want
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_gdb_going_away_lets_the_guest_finish():
    p, port = start_sysgate(guest("gcc64"), [])
    c = Client(port)
    c.ask(b"qSupported")
    c.sock.close()
    out, err = p.communicate(timeout=TIMEOUT)
    assert p.returncode == 0 and out == b"total 14\n"


@needs_gdb
@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_gdb_threads(variant):
    """A threaded guest whose second thread faults while the first waits in
    pthread_join: gdb finds both threads (qfThreadInfo), the stop names the
    faulting one, and Hg selects each one's registers (the waiting one's as
    its system call will return), so both backtraces are gdbserver's."""
    exe = build("ptrace_threads_segv.c", variant, ["-g", "-O0", "-pthread"])
    text = compare(exe, [], ["continue", "thread 2", "bt", "thread 1", "bt", "kill"])
    assert "received signal SIGSEGV" in text and "in poke (depth=2)" in text
    assert "in main () at" in text
