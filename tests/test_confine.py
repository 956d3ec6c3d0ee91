"""Root-directory confinement (--root): a guest that tries every way out
must read nothing outside the root and create nothing outside it, while the
files inside stay readable and writable."""
import os
import stat
import uuid

import pytest

from conftest import ALL, build, run_sysgate


def _tree(tmp_path):
    """tmp_path/secret.txt and tmp_path/outside/ outside; tmp_path/root inside."""
    token = "S3CRET-" + uuid.uuid4().hex
    secret = tmp_path / "secret.txt"
    secret.write_text(token + "\n")
    secret.chmod(0o644)
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "hello.txt").write_text("hello\n")
    (root / "hello2.txt").write_text("hello2\n")
    (root / "sub" / "inner.txt").write_text("inner\n")
    climb = "../" * (len(root.parts) + 2)
    os.symlink(str(secret), root / "abs_link")
    os.symlink(climb + str(secret).lstrip("/"), root / "sub" / "rel_link")
    os.symlink("..", root / "up_link")
    os.symlink(str(outside / "w_abs_target"), root / "w_abs")
    os.symlink(climb + str(outside / "w_rel_target").lstrip("/"), root / "w_rel")
    return token, secret, outside, root


def _outside_state(tmp_path, root):
    """Every path under tmp_path but not under root, with its mode and size."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(tmp_path):
        if os.path.commonpath([dirpath, root]) == str(root):
            dirnames[:] = []
            continue
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            if os.path.commonpath([p, root]) == str(root):
                continue
            st = os.lstat(p)
            out[p] = (stat.S_IMODE(st.st_mode), st.st_size, st.st_nlink, st.st_uid,
                      st.st_mtime_ns)
    return out


@pytest.mark.parametrize("variant", ALL)
def test_no_way_out(variant, tmp_path):
    exe = build("confine_escape.c", variant)
    token, secret, outside, root = _tree(tmp_path)
    before = _outside_state(tmp_path, root)
    secret_st = os.stat(secret)
    r = run_sysgate(exe, [str(secret), str(outside), str(root)], opts=["--root", str(root)],
                    cwd=tmp_path)
    out, err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    assert r.status == 0, (out, err)
    for text in (out, err):
        assert token not in text
        assert token[:16] not in text and token[16:] not in text
    assert out.endswith("done\n"), out

    # Inside the root everything works.
    for line in ("inside /hello.txt: read 'hello|'",
                 "inside relative sub/inner.txt: read 'inner|'",
                 "openat(/sub, inner.txt): read 'inner|'",
                 "/proc/self/fd/N/hello.txt (inside): read 'hello|'",
                 "reopen via /proc/self/fd: read 'hello|'",
                 "fd link: '/hello.txt'", "cwd link: '/'", "root link: '/'",
                 "cwd after chdir ..: '/'", "cwd after fchdir + chdir ..: '/'"):
        assert line in out, (line, out)
    # Nothing that is read comes from outside; '..' of the root is the root.
    for line in out.splitlines():
        if ": read '" in line:
            assert "hello" in line or "inner" in line, line
        if line.startswith("list "):
            assert "secret.txt" not in line and "outside" not in line, line

    assert "mknod block device of the root's disk: -1" in out
    assert "mknod /dev/mem: -1" in out and "mknod fifo: 0" in out
    assert not os.path.lexists(root / "disk") and not os.path.lexists(root / "mem")

    # Nothing outside changed: no new name, the secret intact.
    assert _outside_state(tmp_path, root) == before
    assert secret.read_text() == token + "\n"
    st = os.stat(secret)
    assert stat.S_IMODE(st.st_mode) == 0o644
    assert (st.st_mtime_ns, st.st_uid, st.st_gid) == (
        secret_st.st_mtime_ns, secret_st.st_uid, secret_st.st_gid)
    # What the guest created with escaping names landed inside the root.
    for name in ("escaped_creat", "escaped_dir", "escaped_dir2", "escaped_sym", "escaped_at",
                 "escaped_up", "escaped_updir", "escaped_upsym", "escaped_proc"):
        assert os.path.lexists(root / name), name
    assert not (root / "stolen_link3").exists()


def test_root_must_exist(tmp_path):
    r = run_sysgate("/bin/true", opts=["--root", str(tmp_path / "missing")])
    assert r.status != 0 and b"root directory does not exist" in r.stderr


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_no_way_out_through_socket_names(variant, tmp_path):
    """A Unix socket listening outside the root cannot be reached by its
    host path, by climbing, or through symlinks; names bound land inside."""
    import socket
    import threading
    exe = build("confine_socket.c", variant)
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    host_sock = tmp_path / "host.sock"
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(str(host_sock))
    srv.listen(8)
    reached = []

    def serve():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except OSError:
                continue
            reached.append(1)
            c.sendall(b"SECRET")
            c.close()
    stop = threading.Event()
    th = threading.Thread(target=serve)
    th.start()
    try:
        climb = "../" * (len(root.parts) + 2)
        os.symlink(str(host_sock), root / "abs_sock")
        os.symlink(climb + str(host_sock).lstrip("/"), root / "sub" / "rel_sock")
        os.symlink("..", root / "up_link")
        r = run_sysgate(exe, [str(host_sock)], opts=["--root", str(root)], cwd=tmp_path)
    finally:
        stop.set()
        th.join()
        srv.close()
    out = r.stdout.decode()
    assert r.status == 0, r
    assert "SECRET" not in out and "CONNECTED, read ''" not in out, out
    assert not reached, out
    assert "own socket inside: refused (Connection refused)" in out, out
    assert (root / "made.sock").exists() and (root / "up.sock").exists()
    assert (root / "linked.sock").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["host.sock", "root"]
