"""The vvar page: layout (the mirror of src/vvar.h) and how to fill it.

The page is 4096 bytes, mapped read-only exactly one page below the vDSO
image (vvar address = image base + OFFSET). The vDSO reads it under a
sequence count and computes, for a clock served from the page,

    ns  = (max(rdtsc - cycle_last, 0) * mult + base_nsec) >> shift
    now = base_sec + ns // 10**9 seconds, ns % 10**9 nanoseconds

where base_nsec is stored already shifted left by `shift` (as Linux's
vdso_timestamp). High-resolution clocks (REALTIME, MONOTONIC, BOOTTIME, TAI)
always add the TSC delta; coarse ones (REALTIME_COARSE, MONOTONIC_COARSE)
return the base alone unless F_COARSE_TSC is set. time() is the seconds of
REALTIME_COARSE. Every other clock id makes the system call.

 off size field
   0   4  seq             odd while the kernel writes; readers retry
   4   4  clock_mode      CLOCK_MODE_NONE (0): every clock, gettimeofday,
                          time and clock_getres make the system call, so a
                          zeroed page is always correct; CLOCK_MODE_TSC (1)
   8   8  cycle_last      TSC value the bases were taken at
  16   4  mult
  20   4  shift           <= 32 (base_nsec << shift must fit in 64 bits)
  24   4  flags           F_COARSE_TSC | F_GETCPU
  28   4  hrtimer_res     ns: clock_getres of the high-resolution clocks
  32   4  coarse_res      ns: clock_getres of the coarse clocks
  36   4  tz_minuteswest  gettimeofday's timezone
  40   4  tz_dsttime
  44   4  cpu             getcpu's answer when F_GETCPU (else the system call)
  48   4  node
  52  12  reserved (zero)
  64 192  basetime[12]    per clock id: u64 sec, u64 nsec << shift
 256      end of the used part; the rest of the page stays zero

Writing it: the sysgate kernel writes guest memory while no guest
instruction runs, so writing the whole page (pack()) with a new even seq is
enough. A writer that can run concurrently with the guest must store seq
odd, then the fields, then the next even seq.

The TSC the guest reads under Unicorn is the host's (Unicorn 2.1.4 returns
the host counter for RDTSC), so the kernel samples the host TSC with rdtsc()
below: TscClock() calibrates it once, TscClock.snapshot() makes a page from
the host clocks, and Vvar.advanced(rdtsc()) moves a page forward without
changing any reading (for periodic refreshes: no steps, and coarse clocks
that tick). Vvar.read(clk, tsc) is the vDSO's arithmetic in Python, so the
system calls can answer exactly what the vDSO would. The product
delta * mult is computed exactly (96 bits) on both images: the page never
needs refreshing to avoid overflow, only for the coarse clocks and time().
"""
import ctypes
import os
import mmap
import struct
import time as _time

SIZE = 4096
OFFSET = -4096                    # vvar page address - vDSO image base

# field offsets (must match src/vvar.h; tests check it)
SEQ = 0
CLOCK_MODE = 4
CYCLE_LAST = 8
MULT = 16
SHIFT = 20
FLAGS = 24
HRTIMER_RES = 28
COARSE_RES = 32
TZ_MINUTESWEST = 36
TZ_DSTTIME = 40
CPU = 44
NODE = 48
BASETIME = 64
BASETIME_STRIDE = 16
NR_BASES = 12
USED = BASETIME + NR_BASES * BASETIME_STRIDE      # 256

# seq .. node and the reserved words: the first 64 bytes
HEADER = struct.Struct("<IIQIIIIIiiII12x")
BASE = struct.Struct("<QQ")                          # sec, nsec << shift

CLOCK_MODE_NONE = 0
CLOCK_MODE_TSC = 1
F_COARSE_TSC = 0x1
F_GETCPU = 0x2

CLOCK_REALTIME = 0
CLOCK_MONOTONIC = 1
CLOCK_REALTIME_COARSE = 5
CLOCK_MONOTONIC_COARSE = 6
CLOCK_BOOTTIME = 7
CLOCK_TAI = 11
HRES_CLOCKS = (CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_TAI)
COARSE_CLOCKS = (CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE)
SERVED_CLOCKS = HRES_CLOCKS + COARSE_CLOCKS

NSEC = 10**9
MASK64 = (1 << 64) - 1


def base_offset(clk):
    """Offset of basetime[clk] in the page."""
    return BASETIME + BASETIME_STRIDE * clk


class Vvar:
    """The page's contents; bases maps clock id -> (sec, nsec << shift).
    (A plain class: a dataclass costs every start a third of a millisecond.)"""

    def __init__(self, seq=0, clock_mode=CLOCK_MODE_NONE, cycle_last=0, mult=0, shift=0,
                 flags=0, hrtimer_res=1, coarse_res=4_000_000, tz_minuteswest=0, tz_dsttime=0,
                 cpu=0, node=0, bases=None):
        self.seq, self.clock_mode, self.cycle_last = seq, clock_mode, cycle_last
        self.mult, self.shift, self.flags = mult, shift, flags
        self.hrtimer_res, self.coarse_res = hrtimer_res, coarse_res
        self.tz_minuteswest, self.tz_dsttime = tz_minuteswest, tz_dsttime
        self.cpu, self.node = cpu, node
        self.bases = {} if bases is None else bases

    def __eq__(self, other):
        return type(other) is Vvar and self.__dict__ == other.__dict__

    def __repr__(self):
        return "Vvar(" + ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items()) + ")"

    def set_clock(self, clk, ns):
        """basetime[clk] from a time in nanoseconds (uses the current shift)."""
        sec, nsec = divmod(ns, NSEC)
        self.bases[clk] = (sec, nsec << self.shift)

    def pack(self):
        """The whole page, 4096 bytes."""
        page = bytearray(SIZE)
        HEADER.pack_into(page, 0, self.seq, self.clock_mode, self.cycle_last & MASK64,
                         self.mult, self.shift, self.flags, self.hrtimer_res, self.coarse_res,
                         self.tz_minuteswest, self.tz_dsttime, self.cpu, self.node)
        for clk, (sec, nsec) in self.bases.items():
            if not 0 <= clk < NR_BASES:
                raise ValueError(f"clock id {clk} has no base")
            BASE.pack_into(page, base_offset(clk), sec & MASK64, nsec & MASK64)
        return bytes(page)

    @classmethod
    def unpack(cls, page):
        f = HEADER.unpack_from(page, 0)
        v = cls(*f)
        v.bases = {clk: BASE.unpack_from(page, base_offset(clk)) for clk in range(NR_BASES)}
        return v

    def read(self, clk, tsc):
        """What the vDSO answers for clk at TSC value tsc, computed with the
        same integer arithmetic: (sec, nsec), or None for "system call"."""
        if clk not in SERVED_CLOCKS or self.clock_mode != CLOCK_MODE_TSC:
            return None
        sec, nsec = self.bases.get(clk, (0, 0))
        shift = self.shift & 63
        if clk in HRES_CLOCKS or self.flags & F_COARSE_TSC:
            delta = (tsc - self.cycle_last) & MASK64
            if delta >> 63:
                delta = 0
            ns = ((delta * self.mult + nsec) >> shift) & MASK64
        else:
            ns = nsec >> shift
        return sec + ns // NSEC, ns % NSEC

    def reader(self):
        """read(clk, tsc) for this page as it is now, made once: the same
        answers, with the page's fields and the served clocks looked up
        here rather than at each call (the clock system calls' path)."""
        if self.clock_mode != CLOCK_MODE_TSC:
            return lambda clk, tsc: None
        shift, mult, last = self.shift & 63, self.mult, self.cycle_last
        coarse_tsc = bool(self.flags & F_COARSE_TSC)
        served = {clk: (*self.bases.get(clk, (0, 0)), clk in HRES_CLOCKS or coarse_tsc)
                  for clk in SERVED_CLOCKS}
        get = served.get

        def read(clk, tsc):
            base = get(clk)
            if base is None:
                return None
            sec, nsec, ticking = base
            if ticking:
                delta = (tsc - last) & MASK64
                if delta >> 63:
                    delta = 0
                ns = ((delta * mult + nsec) >> shift) & MASK64
            else:
                ns = nsec >> shift
            return sec + ns // NSEC, ns % NSEC
        return read

    def advanced(self, tsc, seq=None):
        """The page moved forward to cycle_last = tsc without changing any
        reading: each high-resolution base becomes exactly its value at tsc,
        fractional nanoseconds (the low `shift` bits) included, so the new
        page gives the same answers as this one for every later TSC value;
        the coarse bases take the matching fine clock's value at tsc, as
        Linux's do at each tick. seq defaults to this seq + 2."""
        shift = self.shift & 63
        delta = (tsc - self.cycle_last) & MASK64
        if delta >> 63:
            delta, tsc = 0, self.cycle_last
        new = Vvar(**{**self.__dict__, "bases": dict(self.bases)})
        new.seq = self.seq + 2 if seq is None else seq
        new.cycle_last = tsc
        one_sec = NSEC << shift
        for clk in HRES_CLOCKS:
            sec, nsec = self.bases.get(clk, (0, 0))
            carry, nsec = divmod(nsec + delta * self.mult, one_sec)
            new.bases[clk] = (sec + carry, nsec)
        for coarse, fine in ((CLOCK_REALTIME_COARSE, CLOCK_REALTIME),
                             (CLOCK_MONOTONIC_COARSE, CLOCK_MONOTONIC)):
            sec, nsec = new.bases.get(fine, (0, 0))
            new.bases[coarse] = (sec, (nsec >> shift) << shift)
        return new


def mult_shift(hz, max_shift=32):
    """(mult, shift) turning TSC cycles at hz into ns: the largest shift
    <= max_shift whose mult fits in 32 bits."""
    for shift in range(max_shift, -1, -1):
        mult = round(NSEC * (1 << shift) / hz)
        if mult < 1 << 32:
            return mult, shift
    raise ValueError(f"TSC frequency {hz} Hz too low")


_rdtsc_fn = None
_rdtsc_mem = None


def rdtsc():
    """The host's TSC (x86-64 hosts): a ten-byte function called by ctypes."""
    global _rdtsc_fn, _rdtsc_mem
    if _rdtsc_fn is None:
        if os.uname().machine != "x86_64":
            raise OSError("rdtsc needs an x86-64 host")
        # rdtsc; shl $32, %rdx; or %rdx, %rax; ret
        code = bytes.fromhex("0f31" "48c1e220" "4809d0" "c3")
        mem = mmap.mmap(-1, mmap.PAGESIZE,
                        prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        mem.write(code)
        addr = ctypes.addressof(ctypes.c_char.from_buffer(mem))
        _rdtsc_mem = mem
        _rdtsc_fn = ctypes.CFUNCTYPE(ctypes.c_uint64)(addr)
    return _rdtsc_fn()


_rdtsc_quick = None


def rdtsc_quick():
    """rdtsc's function itself, called keeping the GIL (ten instructions:
    letting go of it and taking it back costs more than they do)."""
    global _rdtsc_quick
    if _rdtsc_quick is None:
        rdtsc()
        _rdtsc_quick = ctypes.PYFUNCTYPE(ctypes.c_uint64)(
            ctypes.cast(_rdtsc_fn, ctypes.c_void_p).value)
    return _rdtsc_quick


def _paired(clk):
    """(tsc, ns): a clock reading and the TSC at its middle."""
    a = rdtsc()
    ns = _time.clock_gettime_ns(clk)
    b = rdtsc()
    return (a + b) // 2, ns, b - a


def calibrate_tsc(seconds=0.05):
    """TSC frequency in Hz, measured against CLOCK_MONOTONIC."""
    def best():
        return min((_paired(CLOCK_MONOTONIC) for _ in range(20)), key=lambda p: p[2])
    c0, t0, _ = best()
    _time.sleep(seconds)
    c1, t1, _ = best()
    return (c1 - c0) * NSEC / (t1 - t0)


_tsc_hz = None


def _tsc_cache_path():
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
    except OSError:
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sysgate", f"tsc-{boot}")


def tsc_hz():
    """The TSC frequency, measured once per boot of the host: the figure
    is kept in the user's cache (keyed by the boot id, since a reboot may
    change it), so a start or an exec does not wait for a calibration."""
    global _tsc_hz
    if _tsc_hz is not None:
        return _tsc_hz
    path = _tsc_cache_path()
    if path is not None:
        try:
            with open(path) as f:
                hz = float(f.read())
            if 1e6 < hz < 1e11:
                _tsc_hz = hz
                return hz
        except (OSError, ValueError):
            pass
    _tsc_hz = hz = calibrate_tsc()
    if path is not None:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{os.getpid()}"
            with open(tmp, "w") as f:
                f.write(repr(hz))
            os.replace(tmp, path)
        except OSError:
            pass
    return hz


class TscClock:
    """The host clocks, as a vvar page: calibrate once, snapshot often."""

    def __init__(self, hz=None, max_shift=32):
        self.hz = hz or tsc_hz()
        self.mult, self.shift = mult_shift(self.hz, max_shift)

    def snapshot(self, seq=0, flags=0, **fields):
        """A Vvar in CLOCK_MODE_TSC with every served clock's base taken
        now: each high-resolution base is the host clock at a common
        cycle_last (a reading bracketed by two TSC reads, moved back by the
        cycles since cycle_last); coarse bases are the host's coarse clocks."""
        v = Vvar(seq=seq, clock_mode=CLOCK_MODE_TSC, mult=self.mult, shift=self.shift,
                 flags=flags, **fields)
        v.cycle_last = last = rdtsc()
        for clk in HRES_CLOCKS:
            tsc, ns, _ = min((_paired(clk) for _ in range(3)), key=lambda p: p[2])
            v.set_clock(clk, ns - (tsc - last) * self.mult // (1 << self.shift))
        for clk in COARSE_CLOCKS:
            v.set_clock(clk, _time.clock_gettime_ns(clk))
        return v
