"""The contents of the guest's /proc/<pid> files, generated from sysgate's
model of the guest: its VMAs, signal state, descriptors, credentials.
What the model has no notion of (scheduling counters, capabilities, the
CPUs allowed) is taken from the host process, which is the guest's own
process as the host sees it; no address or size of sysgate's own memory
is ever shown."""
import os
import resource

from ..mm import PROT_EXEC, PROT_READ, PROT_WRITE

PAGE_KB = 4


def _comm(t):
    name = getattr(t, "comm", None)
    if name is None:
        name = os.path.basename(t.exe_path) or "?"
    if isinstance(name, bytes):
        name = name.decode(errors="replace")
    return name[:15]


def _vmas(t):
    return t.mm.mappings()


def _rss(v):
    """Bytes of v the guest can touch without a fault (no page tables to ask)."""
    return v.end - v.start if v.backed and v.prot else 0


# The legacy vsyscall page, which Linux lists last for every 64-bit process
# (vsyscall=xonly: executable, not readable); sysgate emulates calls into it.
VSYSCALL_LINE = f"{'ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0':<72} [vsyscall]\n"


def maps(t):
    text = t.mm.maps_text()
    return (text + VSYSCALL_LINE if t.is64 else text).encode()


def _smaps_body(size, rss, anon, flags=None):
    kb = lambda n: n // 1024
    lines = [("Size", kb(size)), ("KernelPageSize", 4), ("MMUPageSize", 4), ("Rss", kb(rss)),
             ("Pss", kb(rss)), ("Pss_Dirty", kb(anon)), ("Shared_Clean", 0),
             ("Shared_Dirty", 0), ("Private_Clean", kb(rss - anon)),
             ("Private_Dirty", kb(anon)), ("Referenced", kb(rss)), ("Anonymous", kb(anon)),
             ("KSM", 0), ("LazyFree", 0), ("AnonHugePages", 0), ("ShmemPmdMapped", 0),
             ("FilePmdMapped", 0), ("Shared_Hugetlb", 0), ("Private_Hugetlb", 0), ("Swap", 0),
             ("SwapPss", 0), ("Locked", 0)]
    text = "".join(f"{k + ':':<16}{n:>8} kB\n" for k, n in lines)
    if flags is not None:
        text += "THPeligible:    0\n" + f"VmFlags: {flags}\n"
    return text


def _vmflags(v):
    f = []
    for bit, name in ((PROT_READ, "rd"), (PROT_WRITE, "wr"), (PROT_EXEC, "ex")):
        if v.prot & bit:
            f.append(name)
    if v.shared:
        f.append("sh")
    f += ["mr", "mw", "me"]
    if v.shared:
        f.append("ms")
    if v.name == "[stack]":
        f.append("gd")
    f.append("ac")
    return " ".join(f) + " "


def smaps(t):
    out = []
    for v, _ in _vmas(t):
        rss = _rss(v)
        anon = rss if not v.ino else (rss if v.prot & PROT_WRITE and not v.shared else 0)
        out.append(v.maps_line() + "\n" + _smaps_body(v.end - v.start, rss, anon, _vmflags(v)))
    return "".join(out).encode()


def smaps_rollup(t):
    vm = _vmas(t)
    if not vm:
        return b""
    size = sum(v.end - v.start for v, _ in vm)
    rss = sum(_rss(v) for v, _ in vm)
    anon = sum(_rss(v) for v, _ in vm if not v.ino or v.prot & PROT_WRITE and not v.shared)
    head = f"{vm[0][0].start:08x}-{vm[-1][0].end:08x} ---p 00000000 00:00 0"
    return (f"{head:<72} [rollup]\n" + _smaps_body(size, rss, anon)).encode()


def _mem_summary(t):
    vm = [v for v, _ in _vmas(t)]
    size = sum(v.end - v.start for v in vm)
    rss = sum(_rss(v) for v in vm)
    anon = sum(_rss(v) for v in vm if not v.ino)
    stack = sum(v.end - v.start for v in vm if v.name == "[stack]")
    exe = sum(v.end - v.start for v in vm if v.prot & PROT_EXEC and v.name == t.exe_path)
    lib = sum(v.end - v.start for v in vm
              if v.prot & PROT_EXEC and v.ino and v.name != t.exe_path)
    data = sum(v.end - v.start for v in vm
               if v.prot & PROT_WRITE and not v.shared and v.name != "[stack]")
    return dict(size=size, rss=rss, anon=anon, stack=stack, exe=exe, lib=lib, data=data)


def _sig_sets(t):
    from ..signal import SIG_DFL, SIG_IGN
    ign = cgt = 0
    for sig, act in t.sigactions.items():
        if act[0] == SIG_IGN:
            ign |= 1 << (sig - 1)
        elif act[0] != SIG_DFL:
            cgt |= 1 << (sig - 1)
    return t.pending, t.sigmask, ign, cgt


def _host_status_lines(keys):
    """Lines of the host process's status the model has no notion of, or
    that are the guest's as they are (its credentials are the process's)."""
    out = {}
    try:
        with open(f"/proc/{os.getpid()}/status") as f:
            for line in f:
                key = line.split(":", 1)[0]
                if key in keys:
                    out[key] = line
    except OSError:
        pass
    return out


_HOST_KEYS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp",
              "Seccomp_filters", "Speculation_Store_Bypass", "SpeculationIndirectBranch",
              "Cpus_allowed", "Cpus_allowed_list", "Mems_allowed", "Mems_allowed_list")


def _cpus_allowed(t):
    """The thread's own affinity in status's two forms (%*pb and %*pbl):
    the guest's mask, not the one sysgate's host threads are held to
    (kernel.hostcpu)."""
    from ..info import _possible_cpus
    from .. import hostcpu
    bits = getattr(t, "affinity", None)
    if bits is None:
        bits = sum(1 << c for c in hostcpu.host_mask())
    ndig = (_possible_cpus() + 3) // 4
    digits = f"{bits:0{ndig}x}"[-ndig:]
    groups = []
    while digits:
        groups.insert(0, digits[-8:])
        digits = digits[:-8]
    ranges, c = [], 0
    while bits >> c:
        if bits >> c & 1:
            end = c
            while bits >> (end + 1) & 1:
                end += 1
            ranges.append(f"{c}" if end == c else f"{c}-{end}")
            c = end + 1
        else:
            c += 1
    return {"Cpus_allowed": f"Cpus_allowed:\t{','.join(groups)}\n",
            "Cpus_allowed_list": f"Cpus_allowed_list:\t{','.join(ranges)}\n"}


def _ids():
    return os.getresuid(), os.getresgid()


def status(t):
    m = _mem_summary(t)
    pnd, blk, ign, cgt = _sig_sets(t)
    (ru, eu, su), (rg, eg, sg) = _ids()
    host = _host_status_lines(_HOST_KEYS + ("Uid", "Gid", "Groups"))
    kb = lambda n: f"{n // 1024:>8} kB"
    nfd = max(t.files.fds) + 1 if t.files.fds else 0
    fdsize = 64
    while fdsize < nfd:
        fdsize *= 2
    groups = " ".join(str(g) for g in os.getgroups())
    sigpending = resource.getrlimit(resource.RLIMIT_SIGPENDING)[0]
    text = (f"Name:\t{_comm(t)}\nUmask:\t{t.fs.umask:04o}\nState:\tR (running)\n"
            f"Tgid:\t{t.pid}\nNgid:\t0\nPid:\t{t.tid}\nPPid:\t{os.getppid()}\nTracerPid:\t0\n"
            + host.get("Uid", f"Uid:\t{ru}\t{eu}\t{su}\t{eu}\n")
            + host.get("Gid", f"Gid:\t{rg}\t{eg}\t{sg}\t{eg}\n")
            + f"FDSize:\t{fdsize}\n" + host.get("Groups", f"Groups:\t{groups} \n")
            + f"NStgid:\t{t.pid}\nNSpid:\t{t.tid}\n"
            f"NSpgid:\t{os.getpgrp()}\nNSsid:\t{os.getsid(0)}\nKthread:\t0\n"
            f"VmPeak:\t{kb(m['size'])}\nVmSize:\t{kb(m['size'])}\nVmLck:\t{kb(0)}\n"
            f"VmPin:\t{kb(0)}\nVmHWM:\t{kb(m['rss'])}\nVmRSS:\t{kb(m['rss'])}\n"
            f"RssAnon:\t{kb(m['anon'])}\nRssFile:\t{kb(m['rss'] - m['anon'])}\n"
            f"RssShmem:\t{kb(0)}\nVmData:\t{kb(m['data'])}\nVmStk:\t{kb(m['stack'])}\n"
            f"VmExe:\t{kb(m['exe'])}\nVmLib:\t{kb(m['lib'])}\nVmPTE:\t{kb(0)}\n"
            f"VmSwap:\t{kb(0)}\nHugetlbPages:\t{kb(0)}\nCoreDumping:\t0\nTHP_enabled:\t1\n"
            f"Threads:\t{len(tids(t))}\nSigQ:\t0/{sigpending}\n"
            f"SigPnd:\t{0:016x}\nShdPnd:\t{pnd:016x}\nSigBlk:\t{blk:016x}\n"
            f"SigIgn:\t{ign:016x}\nSigCgt:\t{cgt:016x}\n")
    host.update(_cpus_allowed(t))
    text += "".join(host[k] for k in _HOST_KEYS if k in host)
    text += "voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n"
    return text.encode()


def tids(t):
    """The thread ids of the guest process, the leader's first."""
    threads = getattr(getattr(t, "proc", None), "threads", None)
    if not threads:
        return [t.tid]
    return sorted(threads, key=lambda tid: (tid != t.pid, tid))


def _host_stat():
    try:
        with open(f"/proc/{os.getpid()}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return [b"0"] * 50


def _span(t, pred):
    vm = [v for v, _ in _vmas(t) if pred(v)]
    return (vm[0].start, vm[-1].end) if vm else (0, 0)


def stat(t):
    h = _host_stat()            # fields 3.. of the host process: state, ppid, ...
    m = _mem_summary(t)
    pnd, blk, ign, cgt = _sig_sets(t)
    code = _span(t, lambda v: v.name == t.exe_path and v.prot & PROT_EXEC)
    data = _span(t, lambda v: v.name == t.exe_path and v.prot & PROT_WRITE)
    stack = _span(t, lambda v: v.name == "[stack]")
    f = [x.decode() for x in h]
    f[0] = "R"
    f[17] = str(len(tids(t)))              # num_threads
    f[20] = str(m["size"])                   # vsize
    f[21] = str(m["rss"] // 4096)            # rss
    f[23], f[24], f[25] = str(code[0]), str(code[1]), str(stack[1])
    f[26] = f[27] = "0"                      # kstkesp, kstkeip
    mask = (1 << 32) - 1 if not t.is64 else (1 << 64) - 1
    f[28], f[29], f[30], f[31] = (str(x & mask) for x in (pnd, blk, ign, cgt))
    f[32] = "0"                              # wchan
    if len(f) >= 49:
        f[42], f[43], f[44] = str(data[0]), str(data[1]), str(t.mm.brk_start)
        f[45] = f[46] = f[47] = f[48] = "0"  # arg and env ranges
    return f"{t.pid} ({_comm(t)}) {' '.join(f)}\n".encode()


def statm(t):
    m = _mem_summary(t)
    pg = lambda n: n // 4096
    return (f"{pg(m['size'])} {pg(m['rss'])} {pg(m['rss'] - m['anon'])} {pg(m['exe'])} 0 "
            f"{pg(m['data'] + m['stack'])} 0\n").encode()


def cmdline(t):
    return b"".join(a + b"\0" for a in t.argv)


def environ(t):
    return b"".join(a + b"\0" for a in t.envp)


def auxv(t):
    return t.auxv_bytes


def comm(t):
    return (_comm(t) + "\n").encode()


def personality(t):
    return b"00000000\n"


def wchan(t):
    return b"0"


def io(t):
    return (b"rchar: 0\nwchar: 0\nsyscr: 0\nsyscw: 0\nread_bytes: 0\nwrite_bytes: 0\n"
            b"cancelled_write_bytes: 0\n")


_LIMITS = (("Max cpu time", "seconds"), ("Max file size", "bytes"), ("Max data size", "bytes"),
           ("Max stack size", "bytes"), ("Max core file size", "bytes"),
           ("Max resident set", "bytes"), ("Max processes", "processes"),
           ("Max open files", "files"), ("Max locked memory", "bytes"),
           ("Max address space", "bytes"), ("Max file locks", "locks"),
           ("Max pending signals", "signals"), ("Max msgqueue size", "bytes"),
           ("Max nice priority", ""), ("Max realtime priority", ""),
           ("Max realtime timeout", "us"))


def limits(t):
    from ..info import _limit, RLIM64_INFINITY
    out = [f"{'Limit':<25} {'Soft Limit':<20} {'Hard Limit':<20} {'Units':<10}\n"]
    for res, (name, unit) in enumerate(_LIMITS):
        cur, mx = _limit(t, res)
        show = lambda v: "unlimited" if v == RLIM64_INFINITY else str(v)
        out.append(f"{name:<25} {show(cur):<20} {show(mx):<20} {unit:<10}\n")
    return "".join(out).encode()


def fdinfo(t, f):
    """The host's fdinfo of the guest's descriptor (its position, flags and
    type-specific lines), with the guest's close-on-exec flag."""
    try:
        with open(f"/proc/self/fdinfo/{f.host}") as src:
            lines = src.read().splitlines(True)
    except OSError:
        lines = ["pos:\t0\n", "flags:\t02\n"]
    out = []
    guest_of = {g.host: n for n, g in t.files.fds.items()}
    for line in lines:
        if line.startswith("tfd:"):
            # an epoll's watch names the target by descriptor: the guest's
            host = int(line.split()[1])
            if host not in guest_of:
                continue
            line = line.replace(f"{host}", f"{guest_of[host]}", 1)
        if line.startswith("flags:"):
            v = int(line.split()[1], 8) & ~0o2000000
            if f.cloexec:
                v |= 0o2000000
            line = f"flags:\t0{v:o}\n"
        out.append(line)
    return "".join(out).encode()


def other(t, info, name):
    """A file of another guest process of the session, from what it
    published (procspool) and its host process's state."""
    pid = info["pid"]
    comm_ = info.get("comm", "?")[:15]
    if name == "cmdline":
        return b"".join(bytes.fromhex(a) + b"\0" for a in info.get("argv", []))
    if name == "comm":
        return (comm_ + "\n").encode()
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            h = [x.decode() for x in f.read().rsplit(b")", 1)[1].split()]
    except OSError:
        h = ["Z"] + ["0"] * 49
    if h[0] in ("R", "S") and info.get("state"):
        h[0] = info["state"]        # the guest's, not sysgate's own (kernel.procstate)
    if name == "stat":
        for i in (23, 24, 25, 26, 27, 42, 43, 44, 45, 46, 47, 48):
            if i < len(h):
                h[i] = "0"
        h[20] = str(info.get("vsize", 0))
        h[21] = str(info.get("rss", 0) // 4096)
        return f"{pid} ({comm_}) {' '.join(h)}\n".encode()
    if name == "statm":
        return f"{info.get('vsize', 0) // 4096} {info.get('rss', 0) // 4096} 0 0 0 0 0\n".encode()
    state = {"R": "R (running)", "S": "S (sleeping)", "D": "D (disk sleep)", "T": "T (stopped)",
             "t": "t (tracing stop)", "Z": "Z (zombie)", "X": "X (dead)"}.get(h[0], h[0])
    uid, gid = info.get("uid", 0), info.get("gid", 0)
    return (f"Name:\t{comm_}\nState:\t{state}\nTgid:\t{pid}\nNgid:\t0\nPid:\t{pid}\n"
            f"PPid:\t{h[1]}\nTracerPid:\t0\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n"
            f"Gid:\t{gid}\t{gid}\t{gid}\t{gid}\nThreads:\t1\n").encode()
