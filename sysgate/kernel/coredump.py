"""Death by a core-dumping signal, with the host deciding the core flag.

Whether Linux reports a killed child with WCOREDUMP (0x80 in the wait
status, CLD_DUMPED in waitid) depends on the dump succeeding: the process
being dumpable, the host's core_pattern (a file, relative to the dying
process's cwd, or a pipe to a helper), RLIMIT_CORE (a file dump below one
page, or cut short by the limit, does not count; a pipe ignores it) and
whether the file could be created. Rather than model all of that, the dying
host process becomes a tiny program that kills itself with the signal, in
the guest's cwd, with the guest's RLIMIT_CORE and name: the host kernel then
decides, and sets the flag, exactly as it would for the guest. The core file
it writes is that small program's, not the guest's memory (a known gap).
"""
import os
import resource
import signal
import struct

from .hostlibc import libc

CORE_SIGNALS = frozenset({signal.SIGQUIT, signal.SIGILL, signal.SIGTRAP, signal.SIGABRT,
                          signal.SIGBUS, signal.SIGFPE, signal.SIGSEGV, signal.SIGXCPU,
                          signal.SIGXFSZ, signal.SIGSYS})
BASE = 0x400000


def _program(signo, name):
    """A static x86-64 ELF: prctl(PR_SET_NAME, name); kill(getpid(), signo);
    exit_group(128 + signo) should the signal not kill."""
    code = (b"\xbf\x0f\x00\x00\x00"                  # mov edi, PR_SET_NAME
            b"\x48\x8d\x35\x2e\x00\x00\x00"          # lea rsi, [rip+name]
            b"\xb8\x9d\x00\x00\x00\x0f\x05"          # mov eax, prctl; syscall
            b"\xb8\x27\x00\x00\x00\x0f\x05"          # mov eax, getpid; syscall
            b"\x89\xc7"                              # mov edi, eax
            + b"\xbe" + struct.pack("<I", signo) +   # mov esi, signo
            b"\xb8\x3e\x00\x00\x00\x0f\x05"          # mov eax, kill; syscall
            + b"\xbf" + struct.pack("<I", 128 + signo) +
            b"\xb8\xe7\x00\x00\x00\x0f\x05")         # mov eax, exit_group; syscall
    # lea's displacement counts from its end (offset 12) to the name.
    code = code[:8] + struct.pack("<i", len(code) - 12) + code[12:]
    code += name[:15].ljust(16, b"\0")
    entry = BASE + 64 + 56
    ehdr = struct.pack("<4sBBBBB7xHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, 2, 62, 1,
                       entry, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    size = 64 + 56 + len(code)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, BASE, BASE, size, size, 0x1000)
    return ehdr + phdr + code


def _keep_caps_from_growing():
    """An exec that gives root back capabilities sysgate dropped would make
    the new program undumpable (commit_creds: permitted grew), so the
    bounding set loses what the permitted set lacks."""
    caps = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("CapPrm:", "CapBnd:")):
                caps[line[:6]] = int(line.split()[1], 16)
    extra = caps.get("CapBnd", 0) & ~caps.get("CapPrm", 0)
    for cap in range(64):
        if extra >> cap & 1:
            libc.prctl(24, cap, 0, 0, 0)          # PR_CAPBSDROP


def die(t, signo):
    """End this host process killed by signo, as the guest task t was, with
    the core flag the host kernel gives. Returns only if that could not be
    arranged (the caller then dies the plain way)."""
    if signo not in CORE_SIGNALS:
        return
    try:
        if libc.prctl(3, 0, 0, 0, 0) != 1:      # PR_GET_DUMPABLE: the guest's own
            return
        from .info import _limit
        cur = _limit(t, resource.RLIMIT_CORE)[0]
        hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
        cur = resource.RLIM_INFINITY if cur >= 2**63 else cur
        if hard != resource.RLIM_INFINITY and (cur == resource.RLIM_INFINITY or cur > hard):
            cur = hard
        from .prctl import _comm
        image = _program(signo, _comm(t))
        fd = os.memfd_create("core", 0)
        os.write(fd, image)
        os.fchdir(t.fs.cwd_fd)
        resource.setrlimit(resource.RLIMIT_CORE, (cur, hard))
        _keep_caps_from_growing()
        signal.signal(signo, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signo})
        os.execve(fd, [b"core"], {})
    except (OSError, ValueError, AttributeError):
        return


def end_as(t, signo):
    """End this host process as the guest task t ended, killed by signo:
    with the host's core flag where a core would be dumped (die), else the
    plain way."""
    from .hostsigcalls import die_by_signal
    die(t, signo)
    die_by_signal(signo)
