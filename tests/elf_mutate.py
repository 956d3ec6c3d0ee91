"""Malformed ELF files from real ones, deterministically (a seed), and the
means to run them: natively or under sysgate through a guest's execve
(tests/guests/elf_exec.c), and under sysgate as the PROGRAM of `sysgate
run` (run_programs, one forked `sysgate run` per file).

Every outcome is one line: "PATH errno N", "PATH exit N", "PATH signal N",
"PATH timeout", or (sysgate only) "PATH internal ..." for a sysgate bug.

Used by tests/test_elf_malformed.py and bench/fuzz.py --elf."""
import errno as _errno
import os
import random
import signal
import struct
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

EHDR = {True: "<16sHHIQQQIHHHHHH", False: "<16sHHIIIIIHHHHHH"}
PHDR = {True: "<IIQQQQQQ", False: "<IIIIIIII"}
# Field order in the unpacked header and program header.
E_TYPE, E_MACHINE, E_VERSION, E_ENTRY, E_PHOFF = 1, 2, 3, 4, 5
E_PHENTSIZE, E_PHNUM = 9, 10
P64 = ("type", "flags", "offset", "vaddr", "paddr", "filesz", "memsz", "align")
P32 = ("type", "offset", "vaddr", "paddr", "filesz", "memsz", "flags", "align")
PT_LOAD, PT_INTERP, PT_GNU_STACK, PT_GNU_RELRO = 1, 3, 0x6474E551, 0x6474E552
# Exec reads the ELF header and the PT_LOAD, PT_INTERP and PT_GNU_STACK
# headers; the other program headers are ld.so's and libc's (PT_NOTE,
# PT_DYNAMIC, PT_TLS, PT_GNU_RELRO...), whose reactions to garbage depend on
# the CPU they see and on calls outside exec (a malformed PT_GNU_RELRO is an
# mprotect of a range with a hole). Of those only the type is mutated.
EXEC_TYPES = (PT_LOAD, PT_INTERP, PT_GNU_STACK, 6)
# Segments whose memory would be committed in this range stay out of the
# generated set: sysgate's CPU engine copies such a mapping when part of it
# is later unmapped (issue #11's memory work, not the loader's); below it
# they are cheap, above it Linux refuses them (the host's commit limit).
RISKY = (256 << 20, 1 << 40)


class Elf:
    def __init__(self, data):
        self.data = bytearray(data)
        self.is64 = data[4] == 2
        self.hdr = list(struct.unpack_from(EHDR[self.is64], self.data, 0))

    @property
    def names(self):
        return P64 if self.is64 else P32

    def phdrs(self):
        out = []
        fmt, size = PHDR[self.is64], struct.calcsize(PHDR[self.is64])
        phoff, phnum = self.hdr[E_PHOFF], self.hdr[E_PHNUM]
        for i in range(phnum):
            off = phoff + i * size
            if off + size > len(self.data):
                break
            out.append(dict(zip(self.names, struct.unpack_from(fmt, self.data, off))))
        return out

    def set_hdr(self, i, value):
        width = {"H": 16, "I": 32, "Q": 64}[EHDR[self.is64][3 + i]] if i else None
        self.hdr[i] = value & ((1 << width) - 1)
        struct.pack_into(EHDR[self.is64], self.data, 0, *self.hdr)

    def set_phdr(self, i, field, value):
        fmt, size = PHDR[self.is64], struct.calcsize(PHDR[self.is64])
        off = self.hdr[E_PHOFF] + i * size
        vals = dict(zip(self.names, struct.unpack_from(fmt, self.data, off)))
        vals[field] = value & _mask(self.is64)
        struct.pack_into(fmt, self.data, off, *[vals[n] for n in self.names])


def _mask(is64):
    return (1 << 64) - 1 if is64 else 0xFFFFFFFF


def _addresses(is64, orig):
    common = [0, 0x1000, 0x10000, 0x400000, orig + 1, orig + 0x1000, orig - 0x1000, orig + 0x2000,
              0xFFFFF000, 0xFFFFFFFF, 0x8048000, 0xFFFFE000]
    if is64:
        common += [(1 << 47) - 0x1000, 1 << 47, 0x800000000000, 1 << 63, (1 << 64) - 0x1000,
                   0x7FFFFFFFF000, 0x555555554000]
    return [a & _mask(is64) for a in common]


def _sizes(is64, orig, filelen):
    common = [0, 1, 0xFFF, 0x1000, orig + 1, max(orig - 1, 0), orig * 2, filelen, filelen + 1,
              filelen + 0x10000, 0x100000, 0xFFFFFFFF, 0xFFFFF000, 0x80000000]
    if is64:
        common += [1 << 40, 1 << 47, 1 << 63, (1 << 64) - 1, (1 << 64) - 0x1000]
    return [s & _mask(is64) for s in common]


def _risky(e):
    """A mutant whose committed memory would fall in RISKY (see above)."""
    lo, hi = RISKY
    for p in e.phdrs():
        if p["type"] != PT_LOAD:
            continue
        if lo <= p["memsz"] < hi or (p["flags"] & 2 and lo <= p["filesz"] < hi):
            return True
    return False


def mutate(data, rng, paths):
    """One malformed variant of ELF data (bytes): a description and the
    bytes. paths: host paths to name in PT_INTERP (FIFO, directory, ...)."""
    e = Elf(data)
    phdrs = e.phdrs()
    others = [i for i, p in enumerate(phdrs) if p["type"] not in EXEC_TYPES]
    op = rng.choice(["hdr", "phdr", "phdr", "phdr", "interp", "truncate", "bytes", "swap"])
    if op == "interp" and not any(p["type"] == PT_INTERP for p in phdrs):
        op = "phdr"
    if op == "hdr":
        field = rng.choice([E_TYPE, E_MACHINE, E_VERSION, E_ENTRY, E_ENTRY, E_PHOFF,
                            E_PHENTSIZE, E_PHNUM, "class"])
        if field == "class":
            e.data[4] = rng.choice([0, 1, 2, 3])
            return "ident class", bytes(e.data)
        cur = e.hdr[field]
        values = {E_TYPE: [0, 1, 2, 3, 4, 0xFE00],
                  E_MACHINE: [3, 6, 62, 40, 183, 0],
                  E_VERSION: [0, 2, 0xFFFFFFFF],
                  E_PHENTSIZE: [0, 32, 56, 57, 0xFFFF],
                  E_PHNUM: [0, 1, max(cur - 1, 0), cur + 1, 73, 74, 128, 129, 0xFFFF]}.get(field)
        if field in (E_ENTRY, E_PHOFF):
            seg = rng.choice(phdrs) if phdrs else {"vaddr": cur, "offset": cur}
            near = seg["vaddr"] if field == E_ENTRY else seg["offset"]
            values = _addresses(e.is64, cur) + [near, near + 0x10, len(data), len(data) - 8]
        v = rng.choice(values) & (0xFFFF if field in (E_TYPE, E_MACHINE, E_PHENTSIZE, E_PHNUM)
                                  else _mask(e.is64 or field == E_VERSION))
        if field == E_VERSION:
            v &= 0xFFFFFFFF
        e.set_hdr(field, v)
        return f"header field {field} = {v:#x}", bytes(e.data)
    if op == "phdr" and phdrs:
        i = rng.randrange(len(phdrs))
        loads = [j for j, p in enumerate(phdrs) if p["type"] == PT_LOAD]
        if loads and rng.random() < 0.6:
            i = rng.choice(loads)
        p = phdrs[i]
        field = rng.choice(["type", "flags", "flags", "offset", "vaddr", "vaddr", "filesz",
                            "memsz", "memsz", "align"])
        if i in others and p["type"] != PT_GNU_RELRO:
            field = "type"
        elif i in others:
            i = rng.choice(loads) if loads else i
            p = phdrs[i]
        cur = p[field]
        if field == "type":
            v = rng.choice([0, PT_LOAD, 2, PT_INTERP, 6, PT_GNU_STACK, 0x70000000, 0xFFFFFFFF])
        elif field == "flags":
            v = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 0xFFFFFFFF])
        elif field in ("offset",):
            v = rng.choice(_addresses(e.is64, cur) + [len(data), len(data) + 0x1000, cur + 1])
        elif field == "vaddr":
            other = phdrs[rng.choice(loads)]["vaddr"] if loads else cur
            v = rng.choice(_addresses(e.is64, cur) + [other, other + 0x800])
        elif field == "align":
            v = rng.choice([0, 1, 3, 0x1000, 0x200000, 1 << 30, 1 << 31] +
                           ([1 << 47, 1 << 63] if e.is64 else []))
        else:
            v = rng.choice(_sizes(e.is64, cur, len(data)))
        e.set_phdr(i, field, v & _mask(e.is64))
        return f"phdr {i} (type {p['type']:#x}) {field} = {v:#x}", bytes(e.data)
    if op == "interp":
        i = next(j for j, p in enumerate(phdrs) if p["type"] == PT_INTERP)
        kind = rng.choice(["empty", "nul", "unterminated", "past-eof", "path", "path", "path"])
        if kind == "empty":
            e.set_phdr(i, "filesz", rng.choice([0, 1]))
        elif kind == "nul":
            e.data[phdrs[i]["offset"]] = 0
        elif kind == "unterminated":
            e.set_phdr(i, "filesz", phdrs[i]["filesz"] - 1)
        elif kind == "past-eof":
            e.set_phdr(i, "offset", len(data) + rng.choice([0, 0x1000]))
        else:
            target = rng.choice(paths)
            e.data += os.fsencode(target) + b"\0"
            e.set_phdr(i, "offset", len(data))
            e.set_phdr(i, "filesz", len(os.fsencode(target)) + 1)
            return f"PT_INTERP {target}", bytes(e.data)
        return f"PT_INTERP {kind}", bytes(e.data)
    if op == "truncate":
        n = rng.choice([0, 3, 4, 16, 52, 63, 64, 100, e.hdr[E_PHOFF] + 8, 4096,
                        rng.randrange(len(data))])
        return f"truncated to {n}", bytes(e.data[:n])
    if op == "swap" and len(phdrs) > 1 + len(others):
        a, b = rng.sample([j for j in range(len(phdrs)) if j not in others], 2)
        pa, pb = phdrs[a], phdrs[b]
        for f in e.names:
            e.set_phdr(a, f, pb[f])
            e.set_phdr(b, f, pa[f])
        return f"phdrs {a} and {b} swapped", bytes(e.data)
    # A few bytes anywhere in the headers.
    end = min(len(e.data), e.hdr[E_PHOFF] + len(phdrs) * struct.calcsize(PHDR[e.is64]))
    size = struct.calcsize(PHDR[e.is64])
    spared = [range(e.hdr[E_PHOFF] + i * size, e.hdr[E_PHOFF] + (i + 1) * size) for i in others]
    for _ in range(rng.choice([1, 1, 2, 4])):
        at = rng.randrange(max(end, 64))
        if at < len(e.data) and not any(at in r for r in spared):
            e.data[at] = rng.randrange(256)
    return "header bytes", bytes(e.data)


def generate(bases, count, seed, outdir, paths):
    """count mutants of the base programs (name -> path), written to outdir
    (mode 0755); returns [(path, description)]."""
    rng = random.Random(seed)
    blobs = {}
    for name, path in bases.items():
        with open(path, "rb") as f:
            blobs[name] = f.read()
    names = sorted(blobs)
    out = []
    while len(out) < count:
        name = names[len(out) % len(names)]
        desc, data = mutate(blobs[name], rng, paths)
        if len(data) >= 64 and data[:4] == b"\x7fELF" and _risky(Elf(data)):
            continue
        path = os.path.join(outdir, f"m{len(out):05d}-{name}")
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o755)
        out.append((path, f"{name}: {desc}"))
    return out


def special_paths(d):
    """Things for PT_INTERP to name: a FIFO, a directory, an empty and a
    text executable, a non-executable copy of ld.so, a missing file, the
    other ABI's ld.so."""
    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo)
    empty = os.path.join(d, "empty")
    open(empty, "wb").close()
    os.chmod(empty, 0o755)
    text = os.path.join(d, "text")
    with open(text, "w") as f:
        f.write("not a program\n")
    os.chmod(text, 0o755)
    noexec = os.path.join(d, "ld-noexec")
    with open("/lib64/ld-linux-x86-64.so.2", "rb") as f, open(noexec, "wb") as g:
        g.write(f.read())
    os.chmod(noexec, 0o644)
    return [fifo, d, empty, text, noexec, os.path.join(d, "missing"), "/lib/ld-linux.so.2",
            "/lib64/ld-linux-x86-64.so.2", "/etc/passwd"]


# --- running -------------------------------------------------------------
def parse_lines(text):
    """{path: outcome} from the driver's output."""
    out = {}
    for line in text.splitlines():
        path, _, outcome = line.partition(" ")
        out[path] = outcome
    return out


STRERROR = {os.strerror(e): e for e in sorted(_errno.errorcode, reverse=True)}
SIGNAL_WORDS = {"Segmentation fault": signal.SIGSEGV, "Illegal instruction": signal.SIGILL,
                "Bus error": signal.SIGBUS, "Floating point exception": signal.SIGFPE,
                "Trace/breakpoint trap": signal.SIGTRAP, "Aborted": signal.SIGABRT,
                "Killed": signal.SIGKILL}


def _outcome(rc, err):
    """`sysgate run`'s status and stderr as the driver's outcome word."""
    text = err.decode(errors="replace")
    if "internal error" in text or "Traceback" in text:
        return "internal " + text.strip().splitlines()[-1][:200]
    lines = text.strip().splitlines()
    if rc in (126, 127) and lines and lines[-1].startswith("sysgate: "):
        for words, e in STRERROR.items():
            if lines[-1].endswith(": " + words):
                return f"errno {e}"
    return f"exit {rc}"


def _death(signo, err):
    """A death by signal is the guest's when sysgate said so first (it runs
    with SYSGATE_VERBOSE): else sysgate itself died."""
    lines = err.decode(errors="replace").strip().splitlines()
    if lines and lines[-1].startswith("sysgate: ") and \
            lines[-1][9:].split(" (")[0] in SIGNAL_WORDS:
        return f"signal {signo}"
    return f"internal sysgate died of signal {signo}"


def run_programs(files, timeout, opts=()):
    """Each file as `sysgate run [opts] FILE` (cli.main in a forked child,
    so the interpreter starts once): one outcome line per file."""
    sys.path.insert(0, ROOT)
    from sysgate import cli
    lines = []
    for path in files:
        with tempfile.TemporaryFile() as err:
            pid = os.fork()
            if pid == 0:
                rc = 70
                try:
                    null = os.open("/dev/null", os.O_RDWR)
                    os.dup2(null, 0)
                    os.dup2(null, 1)
                    os.dup2(err.fileno(), 2)
                    os.environ["SYSGATE_VERBOSE"] = "1"
                    rc = cli.main(["run", *opts, path])
                except SystemExit as e:
                    rc = e.code if isinstance(e.code, int) else 1
                except BaseException:
                    import traceback
                    traceback.print_exc()
                finally:
                    try:
                        sys.stderr.flush()
                    finally:
                        os._exit(rc if isinstance(rc, int) else 70)
            deadline = time.monotonic() + timeout
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    status = None
                    break
                time.sleep(0.005)
            err.seek(0)
            text = err.read()
        if status is None:
            lines.append(f"{path} timeout")
        elif os.WIFSIGNALED(status):
            lines.append(f"{path} {_death(os.WTERMSIG(status), text)}")
        else:
            lines.append(f"{path} {_outcome(os.WEXITSTATUS(status), text)}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    # python3 tests/elf_mutate.py TIMEOUT FILE...: the files as PROGRAM.
    sys.stdout.write(run_programs(sys.argv[2:], float(sys.argv[1])))
