"""System V IPC, native against sysgate: message queues, semaphores and
shared memory between a parent and its forked children (the objects are
the host kernel's, so the guest processes, host processes, share them),
the structures of both ABIs and of i386's ipc() multiplexer, blocking
calls ended by signals, and a confined guest's IPC namespace."""
import ctypes
import os
import shutil
import subprocess

import pytest

from conftest import ALL, ROOT, assert_same, build, run_sysgate, sysgate_cmd

libc = ctypes.CDLL(None, use_errno=True)


@pytest.mark.parametrize("variant", ALL)
def test_message_queues(variant, tmp_path):
    native, _ = assert_same(build("sysv_msg.c", variant), cwd=tmp_path)
    out = native.stdout.decode()
    # Linux's answers, so that a host that stopped giving them shows here.
    assert "msgrcv type 2                      6\n  got type 2 'world'" in out
    assert "msgrcv IPC_NOWAIT empty            -1 ENOMSG" in out
    assert "msgrcv small buffer: E2BIG         -1 E2BIG" in out
    assert "msgsnd full, SIGALRM (SA_RESTART)  -1 EINTR" in out
    assert "msgrcv empty, SIGALRM (SA_RESTART) -1 EINTR" in out
    assert "child msgrcv: -1 EIDRM" in out
    assert out.endswith("done\n")


@pytest.mark.parametrize("variant", ALL)
def test_semaphores(variant, tmp_path):
    native, _ = assert_same(build("sysv_sem.c", variant), cwd=tmp_path)
    out = native.stdout.decode()
    assert "child took 2, sem 2 is 1\nsem 2 after the child exited         3" in out
    assert "GETNCNT sem 0 (one waiter)           1" in out
    assert "semop at 0, SIGALRM (SA_RESTART)     -1 EINTR" in out
    assert "semop nsops > semopm, bad sops       -1 E2BIG" in out
    assert "child semop: -1 EIDRM" in out
    assert out.endswith("done\n")


@pytest.mark.parametrize("variant", ALL)
def test_shared_memory(variant, tmp_path):
    native, _ = assert_same(build("sysv_shm.c", variant), cwd=tmp_path)
    out = native.stdout.decode()
    assert "child sees 'parent wrote this' nattch 4" in out
    assert "parent sees 'child wrote this' nattch 2" in out
    assert "after exec: nattch 1" in out
    assert "store to SHM_RDONLY: signal 11" in out
    assert "mprotect rdonly attach RW              -1 EACCES" in out
    assert "IPC_STAT after the last detach         -1 EINVAL" in out
    assert out.endswith("done\n")


def test_i386_multiplexer_and_direct_calls(tmp_path):
    native, _ = assert_same(build("sysv_ipc32.c", "gcc32"), cwd=tmp_path)
    out = native.stdout.decode()
    assert "MSGCTL IPC_STAT (old)          0 wrote 56" in out
    assert "direct msgctl IPC_STAT|IPC_64 returns the id 1" in out
    assert "SHMAT bad third                -1 errno 14" in out
    assert "unknown call 99                -1 errno 38" in out
    assert out.endswith("done\n")


KEY = 0x5179C0DE


def _remove_queue(key):
    q = libc.msgget(key, 0)
    if q >= 0:
        libc.msgctl(q, 0, None)


def test_confined_guest_has_its_own_ipc_namespace(tmp_path):
    """Under --root the host's objects are not the guest's, nor the
    guest's the host's; unconfined, they are the same."""
    exe = build("sysv_key.c", "gcc64")
    root = tmp_path / "root"
    root.mkdir()
    for k in (KEY, KEY + 1):
        _remove_queue(k)
    q = libc.msgget(KEY, 0o1600)
    s = libc.semget(KEY, 1, 0o1600)
    h = libc.shmget(KEY, 4096, 0o1600)
    assert min(q, s, h) >= 0, ctypes.get_errno()
    try:
        free = run_sysgate(exe, [hex(KEY)], cwd=tmp_path)
        assert free.stdout == b"msgget: found\nsemget: found\nshmget: found\n"
        confined = run_sysgate(exe, [hex(KEY)], ["--root", str(root)], cwd=tmp_path)
        assert confined.stdout == b"msgget: ENOENT\nsemget: ENOENT\nshmget: ENOENT\n"
        made = run_sysgate(exe, [hex(KEY + 1), "make"], ["--root", str(root)], cwd=tmp_path)
        assert made.stdout.endswith(b"made 1 stat 0\n")
        assert libc.msgget(KEY + 1, 0) == -1 and ctypes.get_errno() == 2
    finally:
        libc.msgctl(q, 0, None)
        libc.semctl(s, 0, 0)
        libc.shmctl(h, 0, None)
        _remove_queue(KEY + 1)


@pytest.mark.parametrize("src", ["sysv_msg.c", "sysv_sem.c"])
def test_confined_guest_works_in_its_namespace(src, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    native, _ = assert_same(build(src, "gcc64"), opts=["--root", str(root)], cwd=tmp_path)
    assert native.stdout.endswith(b"done\n")


def test_blocked_msgrcv_killed_from_outside(tmp_path):
    """A guest blocked in msgrcv dies of a signal sent from outside, as a
    native one does (its wait is the host's, ended by sysgate's own)."""
    src = tmp_path / "wait.c"
    src.write_text(
        "#include <stdio.h>\n#include <sys/msg.h>\n"
        "int main(void){ struct { long t; char x[8]; } m;\n"
        "  int q = msgget(IPC_PRIVATE, 0600); printf(\"%d\\n\", q); fflush(stdout);\n"
        "  msgrcv(q, &m, 8, 0, 0); return 0; }\n")
    exe = str(tmp_path / "wait")
    subprocess.run(["gcc", "-static", "-O1", "-o", exe, str(src)], check=True)
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.Popen(sysgate_cmd(exe), stdout=subprocess.PIPE, env=env)
    q = int(p.stdout.readline())
    try:
        p.send_signal(15)
        assert p.wait(timeout=60) == -15
    finally:
        libc.msgctl(q, 0, None)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv to take CAP_SYS_ADMIN away")
def test_confined_guest_without_a_namespace_gets_enosys(tmp_path):
    """Root without CAP_SYS_ADMIN can make no IPC namespace (and a user
    namespace would cut its powers over files): the confined guest's IPC
    calls fail with ENOSYS instead of reaching the host's objects."""
    exe = build("sysv_key.c", "gcc64")
    root = tmp_path / "root"
    root.mkdir()
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.run(["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin",
                        *sysgate_cmd("--root", str(root)), exe, hex(KEY), "make"],
                       capture_output=True, env=env, cwd=tmp_path, timeout=300)
    assert p.stdout == (b"msgget: Function not implemented\nsemget: Function not implemented\n"
                        b"shmget: Function not implemented\nmade 0 stat -1\n"), p.stderr


@pytest.mark.parametrize("variant", ["gcc64", "gcc32", "musl64"])
def test_a_blocked_thread_holds_up_no_other(variant, tmp_path):
    native, _ = assert_same(build("sysv_threads.c", variant, ["-pthread"]), cwd=tmp_path)
    assert native.stdout == b"thread got 3 'hi'\nthread semop 0\nmain sent 0\ndone\n"
