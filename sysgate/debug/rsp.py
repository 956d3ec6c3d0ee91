"""The framing of gdb's remote serial protocol: `$data#cs` packets, the
`+`/`-` acknowledgements (until QStartNoAckMode), `}` escapes in binary
data, run-length encoding, and the bare ^C byte that interrupts a running
target. Pure functions and a byte-at-a-time parser, so they are tested
without a socket; Connection puts them on one.
"""
import queue
import signal
import socket
import threading

INTERRUPT = b"\x03"
_ESCAPED = frozenset(b"#$}*")
_BAD_COUNT = frozenset(b"#$*}")


def checksum(data):
    return sum(data) & 0xFF


def frame(data):
    """A packet ready to send: data escaped where the protocol requires."""
    return b"$" + escape(data) + b"#%02x" % checksum(escape(data))


def escape(data):
    out = bytearray()
    for b in data:
        if b in _ESCAPED:
            out += bytes((0x7D, b ^ 0x20))
        else:
            out.append(b)
    return bytes(out)


def unescape(data):
    """Binary data as X packets carry it (raises ValueError on a dangling })."""
    out = bytearray()
    it = iter(data)
    for b in it:
        if b == 0x7D:
            nxt = next(it, None)
            if nxt is None:
                raise ValueError("dangling escape")
            out.append(nxt ^ 0x20)
        else:
            out.append(b)
    return bytes(out)


def rle_decode(data):
    """Expand `X*n` runs (n is a count + 29) as gdb does for replies."""
    out = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        if b == 0x2A and out and i + 1 < len(data):
            out += bytes((out[-1],)) * (data[i + 1] - 29)
            i += 2
            continue
        out.append(b)
        i += 1
    return bytes(out)


def rle_encode(data):
    """Run-length encode a reply: runs of 4 or more; the count byte never
    is "#" or "$" (nor "*" or "}", which frame() would escape): such runs
    are split. Not used for replies today (frame() escapes '*')."""
    out = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        j = i
        while j < len(data) and data[j] == b and j - i < 96:
            j += 1
        n = j - i
        if n >= 4:
            extra = n - 1
            while extra + 29 in _BAD_COUNT:
                extra -= 1
            out.append(b)
            out += b"*" + bytes((extra + 29,))
            i += 1 + extra
        else:
            out += data[i:j]
            i = j
    return bytes(out)


class Parser:
    """Turns the bytes gdb sends into events: ("packet", data),
    ("bad", data) for a checksum mismatch, ("ack", b"+" or b"-") and
    ("interrupt",) for ^C outside a packet."""

    def __init__(self):
        self._buf = None          # bytes of the packet being read, after '$'
        self._cs = None           # checksum characters read after '#'

    def feed(self, data):
        events = []
        for b in data:
            if self._cs is not None:
                self._cs.append(b)
                if len(self._cs) == 2:
                    body, cs = bytes(self._buf), bytes(self._cs)
                    self._buf = self._cs = None
                    try:
                        good = int(cs, 16) == checksum(body)
                    except ValueError:
                        good = False
                    events.append(("packet" if good else "bad", body))
            elif self._buf is not None:
                if b == 0x23:                 # '#'
                    self._cs = bytearray()
                elif b == 0x24:               # '$' again: the old packet was cut short
                    self._buf = bytearray()
                else:
                    self._buf.append(b)
                    if len(self._buf) > 1 << 20:
                        self._buf = None      # garbage: resynchronise on the next '$'
            elif b == 0x24:
                self._buf = bytearray()
            elif b in (0x2B, 0x2D):
                events.append(("ack", bytes((b,))))
            elif b == 0x03:
                events.append(("interrupt",))
        return events


class Connection:
    """One gdb on a socket. A reader thread owns the receiving side: it
    parses, queues packets for the stub, and turns a ^C that arrives while
    the target runs into on_interrupt() at once."""

    def __init__(self, sock, on_interrupt):
        self.sock = sock
        self.on_interrupt = on_interrupt
        self.running = False          # the target runs: ^C is meaningful
        self.ack = True
        self.closed = False
        self.events = queue.Queue()
        self._thread = threading.Thread(target=self._read, name="sysgate-gdb", daemon=True)
        self._thread.start()

    def _read(self):
        # Host signals are the signal helper's business, never this thread's.
        signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        parser = Parser()
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                self.closed = True
                self.events.put(("eof",))
                if self.running:
                    self.on_interrupt(eof=True)
                return
            for ev in parser.feed(data):
                if ev[0] == "interrupt":
                    if self.running:
                        self.on_interrupt()
                    continue
                self.events.put(ev)

    def send(self, data, retries=3):
        """Send one packet (bytes or str); in ack mode wait for its '+'."""
        if isinstance(data, str):
            data = data.encode("latin-1")
        pkt = frame(data)
        for _ in range(retries):
            if not self._write(pkt):
                return
            if not self.ack:
                return
            ev = self._next_ack()
            if ev != b"-":
                return

    def _next_ack(self):
        while True:
            try:
                ev = self.events.get(timeout=10)
            except queue.Empty:
                return None
            if ev[0] == "ack":
                return ev[1]
            if ev[0] == "eof":
                self.events.put(ev)
                return None
            # A packet before the ack: gdb took ours; keep it for the stub.
            self.events.put(ev)
            return b"+"

    def _write(self, raw):
        if self.closed:
            return False
        try:
            self.sock.sendall(raw)
            return True
        except OSError:
            self.closed = True
            return False

    def receive(self):
        """The next packet's data, or None when gdb has gone."""
        while True:
            ev = self.events.get()
            if ev[0] == "eof":
                self.events.put(ev)          # every later call sees it too
                return None
            if ev[0] == "ack":
                continue
            if ev[0] == "bad":
                if self.ack:
                    self._write(b"-")
                continue
            if self.ack:
                self._write(b"+")
            return ev[1]

    def close(self, shutdown=True):
        """shutdown=False: a forked child's copy, whose parent keeps the line."""
        self.closed = True
        try:
            if shutdown:
                self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()
        except OSError:
            pass
