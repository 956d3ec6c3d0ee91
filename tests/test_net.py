"""Sockets, native against sysgate: Unix-domain pairs and named sockets,
abstract names, errors, EPIPE with and without SIGPIPE, an interrupted
recv, TCP over loopback, sendmsg/recvmsg with an fd passed to another
process (SCM_RIGHTS) and MSG_CTRUNC, and i386's socketcall. (Confinement of socket
names: test_confine.)"""
import pytest

from conftest import ALL, build, run_native, run_sysgate


@pytest.mark.parametrize("variant", ALL + ("gcc64-dyn",))
def test_sockets(variant, tmp_path):
    exe = build("net_sockets.c", variant)
    dirs = [tmp_path / "native", tmp_path / "sysgate"]
    for d in dirs:
        d.mkdir()
    native = run_native(exe, cwd=dirs[0])
    emu = run_sysgate(exe, cwd=dirs[1])
    assert (emu.status, emu.stdout, emu.stderr) == (native.status, native.stdout, native.stderr)
    out = native.stdout.decode()
    assert "  len 7 path sock\n" in out and "  got from the child\n" in out
    assert "  SIGPIPEs 1\n" in out
    assert "  got tcp!\n" in out
    assert "  through the passed fd: child got 13: gath|ered data, an fd 1\n" in out
    assert "  MSG_CTRUNC 1, controllen 0\n" in out
    assert "  lengths 1 2 3\n" in out
    if variant == "gcc32":
        assert "socketcall(RECV)                     = 3" in out


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_socket_calls_with_bad_arguments(variant, tmp_path):
    exe = build("net_garbage.c", variant)
    native = run_native(exe, cwd=tmp_path)
    emu = run_sysgate(exe, cwd=tmp_path)
    assert (emu.status, emu.stdout, emu.stderr) == (native.status, native.stdout, native.stderr)
    assert b"bind len 1                     = -1 Invalid argument" in native.stdout
