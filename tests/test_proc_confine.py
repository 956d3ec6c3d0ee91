"""The guest's /proc is the guest's: with a proc file system mounted inside
the root (the normal chroot setup), nothing in it describes or reaches
sysgate's own process. The attacks of issue #11 (smaps read, code written
through /proc/self/mem into sysgate's libc), task/, fd/, another guest's
entries; differential checks of the guest's own /proc against Linux;
descriptors from outside the root (SCM_RIGHTS) as bases for path walks;
openat2 and the file handle calls."""
import ctypes
import os
import shutil
import socket
import subprocess
import threading
import uuid

import pytest

from conftest import ALL, ROOT, build, run_native, run_sysgate, sysgate_cmd


@pytest.fixture
def proc_root(tmp_path):
    """tmp_path/root with a proc file system mounted at root/proc."""
    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True)
    (root / "dev").mkdir()
    (root / "etc").mkdir()
    (root / "etc" / "hostname").write_text("inside\n")
    os.symlink("/proc/self/fd", root / "dev" / "fd")
    r = subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")],
                       capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"cannot mount proc here ({r.stderr.strip()}): the attack needs it")
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root / "proc")], capture_output=True)


def _guest(root, variant="gcc64", src="proc_attack.c"):
    exe = build(src, variant)
    dst = root / os.path.basename(src)[:-2]
    shutil.copy(exe, dst)
    return str(dst), "/" + dst.name


def _env():
    e = dict(os.environ)
    e["PYTHONPATH"] = ROOT
    return e


def _libc_write_in(pid):
    """The address of libc's write() in host process pid (sysgate itself)."""
    me = ctypes.cast(ctypes.CDLL("libc.so.6").write, ctypes.c_void_p).value

    def maps(p):
        out = []
        with open(f"/proc/{p}/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6:
                    lo, hi = (int(x, 16) for x in parts[0].split("-"))
                    out.append((lo, hi, int(parts[2], 16), parts[5]))
        return out
    for lo, hi, off, path in maps("self"):
        if lo <= me < hi:
            file_off, lib = me - lo + off, path
            break
    else:
        pytest.skip("libc's write() not found in this process's maps")
    for lo, hi, off, path in maps(pid):
        if path == lib and off <= file_off < off + (hi - lo):
            return lo + file_off - off
    pytest.fail(f"sysgate (pid {pid}) has no mapping of {lib}")


def test_mem_write_into_sysgate_libc(proc_root, tmp_path):
    """The attack of issue #11: the guest writes code through /proc/self/mem
    at the address of sysgate's own write(); that code would create a file
    outside the root. The write must not reach sysgate."""
    host_exe, guest_exe = _guest(proc_root)
    marker = tmp_path / f"outside-{uuid.uuid4().hex}"
    p = subprocess.Popen(sysgate_cmd("--root", str(proc_root), host_exe, "inject", str(marker)),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=_env())
    try:
        first = p.stdout.readline().decode()
        assert first.startswith("pid "), first
        pid = int(first.split()[1])
        addr = _libc_write_in(pid)
        out, err = p.communicate(f"{addr:x}\n".encode(), timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    out = out.decode()
    assert not marker.exists(), "code written through /proc/self/mem ran in sysgate"
    assert p.returncode == 0, (out, err)
    assert "open mem: ok" in out
    # Nothing is mapped for the guest there: Linux's answer, EIO.
    assert "write at sysgate's write(): -1 Input/output error" in out, out
    assert "read at sysgate's write(): -1 Input/output error" in out, out
    # An address smaps gave is the guest's own memory.
    assert "write at smaps [stack]: 36 ours 1" in out, out
    assert "still here" in out
    assert b"Traceback" not in err and b"internal error" not in err, err


@pytest.mark.parametrize("variant", ALL)
def test_self_is_the_guest(proc_root, variant):
    host_exe, guest_exe = _guest(proc_root, variant)
    r = run_sysgate(host_exe, ["look", guest_exe], opts=["--root", str(proc_root)])
    out = r.stdout.decode()
    assert r.status == 0, r
    for what in ("maps", "smaps", "task maps"):
        lines = [l for l in out.splitlines() if l.startswith(what + ":")]
        assert lines and lines[-1].endswith(" 0 foreign") and len(lines) == 1, out
    assert "status Name:\tproc_attack\n" in out
    assert "status Threads:\t1\n" in out
    assert "status VmSize below 64 MB: 1" in out
    assert "task is self: 1" in out and "tasks 1" in out
    assert "task comm proc_attack" in out
    assert "fds listed 4" in out                  # 0, 1, 2 and the listing's own
    assert "other fds reachable 0" in out         # sysgate's descriptors: not by number
    assert "fdinfo/5: absent" in out
    assert "task mem reads ours: 1" in out
    assert "pagemap: opened" in out                # modelled: the guest's pages
    assert "sys write: Permission denied" in out
    assert "kcore: No such file or directory" in out
    assert "cpuinfo: 1" in out
    assert "pid 1: No such file or directory" in out
    assert "ppid: No such file or directory" in out
    assert "root/..: inside" in out                # the guest's root, its own /etc
    assert "cwd/..: 0" in out


def test_other_guest_processes(proc_root):
    host_exe, guest_exe = _guest(proc_root)
    r = run_sysgate(host_exe, ["child", guest_exe], opts=["--root", str(proc_root)])
    out = r.stdout.decode()
    assert r.status == 0, r
    # The exec'd child shows its new program; the parent, seen from a
    # forked child, its own.
    assert "child cmdline: proc_attack sleeper extra-arg" in out, out
    assert "child comm: proc_attack" in out
    assert "child status: Name:\tproc_attack" in out
    assert "child stat: (proc_attack" in out
    assert f"child exe: {guest_exe}" in out
    assert f"parent cmdline: {host_exe} child {guest_exe}" in out, out
    assert f"parent exe: {guest_exe}" in out
    for who in ("child", "parent"):
        for f in ("maps", "mem", "smaps", "environ", "fd"):
            assert f"{who} {f}: Permission denied" in out, out
    assert "child exit 7" in out
    assert "reaped child: ENOENT" in out
    assert "python" not in out and "sysgate" not in out


@pytest.mark.parametrize("variant", ALL)
def test_own_proc_as_linux(variant):
    """status Name/Threads, fd listings, cmdline, /dev/fd/N, exe, and mem
    (a FOLL_FORCE write over read-only code, then run): as natively."""
    exe = build("proc_self.c", variant)
    native = run_native(exe, ["a b", "c"])
    emu = run_sysgate(exe, ["a b", "c"])
    assert native.status == 0, native
    assert emu.stdout == native.stdout, (native.stdout.decode(), emu.stdout.decode())
    assert b"patched after: 42" in emu.stdout


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_own_proc_in_root(proc_root, variant):
    """The same with the proc mounted inside the root: readlink and cmdline
    name the program by its path inside the root."""
    host_exe, guest_exe = _guest(proc_root, variant, "proc_self.c")
    native = run_native(host_exe, ["x"])
    emu = run_sysgate(host_exe, ["x"], opts=["--root", str(proc_root)])
    expect = native.stdout.replace(f"exe: {host_exe}".encode(), f"exe: {guest_exe}".encode())
    assert emu.stdout == expect, (expect.decode(), emu.stdout.decode())


def test_every_route_into_proc(proc_root):
    """A symlink to /proc/self, a second proc mount, a bind mount of proc's
    sys/, '..', a dirfd and a cwd inside proc, /dev/fd, fd/N/..: each
    answers the guest's view, never sysgate's."""
    host_exe, guest_exe = _guest(proc_root)
    os.symlink("/proc/self", proc_root / "selflink")
    (proc_root / "altproc").mkdir()
    (proc_root / "binds").mkdir()
    mounted = []
    try:
        for cmd in (["mount", "-t", "proc", "proc", str(proc_root / "altproc")],
                    ["mount", "--bind", "/proc/sys", str(proc_root / "binds")]):
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode:
                pytest.skip(f"{' '.join(cmd)}: {r.stderr.strip()}")
            mounted.append(cmd[-1])
        r = run_sysgate(host_exe, ["routes"], opts=["--root", str(proc_root)])
    finally:
        for m in reversed(mounted):
            subprocess.run(["umount", "-l", m], capture_output=True)
    out = r.stdout.decode()
    assert r.status == 0, r
    assert "HOST" not in out, out
    for route in ("symlink", "altproc", "altproc pid", "altproc smaps", "dotdot", "dotdot2",
                  "dirfd view", "fchdir", "cwd in task", "relative from /"):
        assert f"{route}: guest\n" in out, (route, out)
    assert "bind sys: Linux" in out                       # read-only from the host
    assert "bind sys write: Permission denied" in out
    assert "fchdir ..: inside" in out                     # /proc/.. is the guest's root
    assert "getcwd: proc" in out
    assert "devfd: ok" in out
    assert "fd/N/..: inside" in out
    assert "mkdir in proc: No such file or directory" in out   # as Linux: proc has no such name
    assert "unlink in proc: Operation not permitted" in out
    assert "creat in proc: Permission denied" in out


def _send_dir_fd(name, dirpath, ready, done):
    """A host process's part: listen on abstract socket name, send one
    directory fd of dirpath (outside the root) to whoever connects."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind("\0" + name)
    srv.listen(1)
    srv.settimeout(120)
    ready.set()
    try:
        conn, _ = srv.accept()
    except OSError:
        return
    fd = os.open(dirpath, os.O_RDONLY | os.O_DIRECTORY)
    try:
        socket.send_fds(conn, [b"x"], [fd])
        conn.recv(1)
    finally:
        os.close(fd)
        conn.close()
        srv.close()
        done.set()


@pytest.mark.parametrize("variant", ALL)
def test_scm_rights_dir_from_outside(variant, tmp_path, proc_root):
    token = "S3CRET-" + uuid.uuid4().hex
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text(token + "\n")
    (tmp_path / "secret").write_text(token + "\n")
    root = proc_root            # with /dev/fd -> /proc/self/fd and a proc inside
    (root / "secret").write_text("inside\n")
    exe = build("confine_scm.c", variant)
    name = "sysgate-test-" + uuid.uuid4().hex
    ready, done = threading.Event(), threading.Event()
    th = threading.Thread(target=_send_dir_fd, args=(name, str(outside), ready, done),
                          daemon=True)
    th.start()
    ready.wait(10)
    r = run_sysgate(exe, [name], opts=["--root", str(root)])
    out = r.stdout.decode()
    assert r.status == 0, r
    assert token not in out, out
    assert "received a directory: 1" in out, out
    for what in ("openat(fd, ../secret)", "openat(fd, secret)", "openat(fd, .)",
                 "/proc/self/fd/N/../secret", "/proc/self/fd/N/secret", "/dev/fd/N/secret",
                 "openat(dup, secret)"):
        assert f"{what}: Permission denied" in out, (what, out)
    assert "fstatat(fd, secret): Permission denied" in out
    assert "mkdirat(fd, made): Permission denied" in out
    assert not (outside / "made").exists()
    assert "fchdir(fd): Permission denied" in out
    assert "chdir(/proc/self/fd/N): Permission denied" in out
    # The cwd stayed the root: its own secret.
    assert "after fchdir: secret: READ 7 inside" in out
    assert "after chdir: secret: READ 7 inside" in out
    assert "fstat(fd) still works: 1" in out


HANDLE_LINES = ("name_to_handle_at ", "open_by_handle_at ")


@pytest.mark.parametrize("variant", ALL)
def test_openat2_as_linux(variant):
    """Each RESOLVE flag, the struct-size checks (EINVAL, E2BIG), garbage
    pointers (EFAULT): as natively. The file-handle calls answer as for an
    unprivileged caller, whatever the native run may do as root."""
    exe = build("confine_openat2.c", variant)
    native = run_native(exe)
    emu = run_sysgate(exe)
    assert emu.status == native.status == 0, (native, emu)
    keep = lambda out: [l for l in out.decode().splitlines() if not l.startswith(HANDLE_LINES)]
    assert keep(emu.stdout) == keep(native.stdout), (native.stdout.decode(),
                                                     emu.stdout.decode())
    out = emu.stdout.decode()
    # EOPNOTSUPP, whose text is the libc's own
    assert ("name_to_handle_at                        Operation not supported" in out
            or "name_to_handle_at                        Not supported" in out), out
    assert "name_to_handle_at badflags               Invalid argument" in out
    assert "name_to_handle_at enoent                 No such file or directory" in out
    assert "open_by_handle_at                        Operation not permitted" in out
    assert "open_by_handle_at badfd                  Bad file descriptor" in out


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_openat2_confined(variant, tmp_path, proc_root):
    token = "S3CRET-" + uuid.uuid4().hex
    secret = tmp_path / "secret.txt"
    secret.write_text(token + "\n")
    exe = build("confine_openat2.c", variant)
    r = run_sysgate(exe, ["escape", str(secret)], opts=["--root", str(proc_root)])
    out = r.stdout.decode()
    assert r.status == 0, r
    assert "leaks 0" in out and "LEAK" not in out and token not in out, out


@pytest.mark.parametrize("variant", ALL)
def test_proc_garbage_as_linux(variant):
    """Bad pointers, sizes and names on the guest's /proc: Linux's errnos."""
    exe = build("proc_garbage.c", variant, ["-w"])
    native = run_native(exe)
    emu = run_sysgate(exe)
    assert native.status == 0, native
    assert emu.stdout == native.stdout, (native.stdout.decode(), emu.stdout.decode())


@pytest.mark.skipif(not os.path.exists("/bin/bash"), reason="no /bin/bash")
def test_bash_process_substitution():
    """diff <(...) <(...) and paste: /dev/fd/N is the guest's fd N."""
    script = ("diff <(echo a; echo b) <(echo a; echo c); paste <(echo 1) <(echo 2); "
              "cat /proc/self/comm; ls /proc/self/fd | wc -l; readlink /proc/self/exe; "
              "cat /proc/$$/comm; cat <(cat /proc/self/status | grep -c '^Name:')")
    native = run_native("/bin/bash", ["-c", script])
    emu = run_sysgate("/bin/bash", ["-c", script])
    assert emu.stdout == native.stdout, (native.stdout.decode(), emu.stdout.decode())
    assert emu.status == native.status



@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_walk_everything(variant, proc_root):
    """Every entry of the guest's /proc opened every way (read, write,
    O_PATH, O_DIRECTORY, no-follow, getdents64, openat from it, '..'):
    results and errnos only, never an internal error."""
    host_exe, _ = _guest(proc_root, variant, "proc_walk.c")
    native = run_native(host_exe, input=b"")
    for opts in ((), ("--root", str(proc_root))):
        emu = run_sysgate(host_exe, opts=opts, input=b"")
        assert emu.status == 0, emu
        assert emu.stdout == native.stdout == b"walked: 1 entries, 1 opened, 1 refused\n"


def test_scm_rights_dir_named_like_the_root(tmp_path, proc_root):
    """A directory beside the root whose name starts with the root's
    ("<root> evil") is outside it."""
    token = "S3CRET-" + uuid.uuid4().hex
    evil = tmp_path / (proc_root.name + " evil")
    evil.mkdir()
    (evil / "secret").write_text(token + "\n")
    (proc_root / "secret").write_text("inside\n")
    exe = build("confine_scm.c", "gcc64")
    name = "sysgate-test-" + uuid.uuid4().hex
    ready, done = threading.Event(), threading.Event()
    threading.Thread(target=_send_dir_fd, args=(name, str(evil), ready, done),
                     daemon=True).start()
    ready.wait(10)
    r = run_sysgate(exe, [name], opts=["--root", str(proc_root)])
    out = r.stdout.decode()
    assert token not in out, out
    assert "openat(fd, secret): Permission denied" in out, out
    assert "fchdir(fd): Permission denied" in out
