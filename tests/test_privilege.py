"""The guest's power over the host's network (--net), native against
sysgate. Every run that could change a network happens in a network
namespace made for the test (unshare -n), so the host's own is never
touched: the default (--net host) answers as Linux answers a process
without CAP_NET_ADMIN/CAP_NET_RAW (the native oracle runs under setpriv
with those dropped); --net admin changes the namespace as native root does;
--net none gives a namespace of its own with only lo, up."""
import os
import shutil
import sys
import subprocess

import pytest

from conftest import ROOT, build, sysgate_cmd

NO_NET_CAPS = ["setpriv", "--inh-caps=-net_admin,-net_raw,-sys_module",
               "--bounding-set=-net_admin,-net_raw,-sys_module"]

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("setpriv"),
    reason="needs root, unshare and setpriv (the test makes its own network namespaces)")


def _run(cmd, timeout=300):
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.run(cmd, capture_output=True, env=env, timeout=timeout)
    assert b"Traceback" not in p.stderr and b"internal error" not in p.stderr, p.stderr
    return p


@needs_root
@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_no_configuration_power_by_default(variant):
    exe = build("net_priv.c", variant)
    native = _run(["unshare", "-n", *NO_NET_CAPS, exe])
    emu = _run(["unshare", "-n", *sysgate_cmd(), exe])
    assert (emu.returncode, emu.stdout) == (native.returncode, native.stdout)
    out = emu.stdout.decode()
    for what in ("RTM_NEWLINK lo up (write)", "RTM_NEWLINK lo up (sendto)",
                 "RTM_NEWADDR 127.0.0.2/8", "socket(AF_INET, SOCK_RAW)",
                 "socket(AF_PACKET, SOCK_RAW)", "SIOCSIFFLAGS lo up", "SO_MARK",
                 "SIOCADDRT 10.9.8.0/24 dev lo"):
        assert f"{what:<28} = -1 Operation not permitted\n" in out, what
    assert "SIOCSIFFLAGS bad pointer     = -1 Bad address\n" in out
    assert out.endswith("links: lo\nlo flags: down LOOPBACK\nifconf (%d bytes each):\n"
                        % (40 if variant == "gcc64" else 32))


@needs_root
@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_admin_keeps_the_power(variant):
    exe = build("net_priv.c", variant)
    native = _run(["unshare", "-n", exe])
    emu = _run(["unshare", "-n", *sysgate_cmd("--net", "admin"), exe])
    assert (emu.returncode, emu.stdout) == (native.returncode, native.stdout)
    out = emu.stdout.decode()
    assert "RTM_NEWLINK lo up (write)    = ok\n" in out
    assert "socket(AF_PACKET, SOCK_RAW)  = ok\n" in out
    assert "SIOCADDRT 10.9.8.0/24 dev lo = ok\nSIOCADDRT, bad device name   = -1 Bad address\n" in out
    assert out.endswith("links: lo(up)\nlo flags: UP LOOPBACK\n"
                        "ifconf (%d bytes each): lo=127.0.0.1 lo=127.0.0.2\n"
                        % (40 if variant == "gcc64" else 32))


@needs_root
def test_net_none_sees_only_loopback_up():
    exe = build("net_priv.c", "gcc64")
    # Not inside a namespace of the test's: --net none makes its own.
    emu = _run([*sysgate_cmd("--net", "none"), exe])
    out = emu.stdout.decode()
    assert emu.returncode == 0, emu.stderr
    assert out.startswith("socket(NETLINK_ROUTE)        = ok\nlinks: lo(up)\n"
                          "lo flags: UP LOOPBACK\n")
    assert "RTM_NEWADDR 127.0.0.2/8      = -1 Operation not permitted\n" in out
    assert out.endswith("links: lo(up)\nlo flags: UP LOOPBACK\n"
                        "ifconf (40 bytes each): lo=127.0.0.1\n")


@needs_root
def test_net_none_without_root_keeps_the_ids():
    """A user who is not root gets the namespace through a user namespace
    of its own; the guest's ids stay the user's. (uid 1000 here is a user
    namespace's, mapped to root outside, which is how a non-root user can be
    simulated while the interpreter stays readable.)"""
    exe = build("net_priv.c", "gcc64")
    wrap = ["unshare", "-U", "--map-user=1000", "--map-group=1000"]
    emu = _run([*wrap, *sysgate_cmd("--net", "none"), exe, "read"])
    assert emu.stdout == (b"socket(NETLINK_ROUTE)        = ok\nlinks: lo(up)\n"
                          b"lo flags: UP LOOPBACK\n"), emu.stderr
    ids = _run([*wrap, *sysgate_cmd("--net", "none"), "/usr/bin/id", "-u"])
    assert ids.stdout == b"1000\n"


def test_host_network_is_readable():
    """--net host: reads (RTM_GETLINK, SIOCGIFFLAGS) are the host's own."""
    exe = build("net_priv.c", "gcc64")
    native = _run([exe, "read"])
    emu = _run([*sysgate_cmd(), exe, "read"])
    assert emu.stdout == native.stdout
    assert b"links: lo" in emu.stdout


# --- sizes ----------------------------------------------------------------------------
# What a guest claims (msg_controllen of -1 or 2^62, 1 GiB iovecs and
# optlens over an untouched mapping) is answered as Linux answers, and
# sysgate's own memory stays small: Linux copies straight to and from user
# memory, so a size is never something to allocate.
PEAK_RSS_MB = 200
_PEAK = ("import resource, subprocess, sys\n"
         "p = subprocess.run(sys.argv[1:], capture_output=True)\n"
         "sys.stdout.buffer.write(p.stdout)\n"
         "sys.stderr.buffer.write(p.stderr)\n"
         "sys.stderr.write('\\nPEAK %d RC %d' % (resource.getrusage(resource.RUSAGE_CHILDREN)"
         ".ru_maxrss, p.returncode))\n")


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
def test_huge_socket_sizes(variant):
    exe = build("net_sizes.c", variant)
    native = subprocess.run([exe], capture_output=True, timeout=60)
    emu = _run([sys.executable, "-c", _PEAK, *sysgate_cmd(), exe], timeout=120)
    err, _, tail = emu.stderr.rpartition(b"\nPEAK ")
    peak_kb, rc = (int(x) for x in tail.split(b" RC "))
    assert (rc, emu.stdout, err) == (native.returncode, native.stdout, native.stderr)
    assert peak_kb < PEAK_RSS_MB * 1024, f"sysgate's peak RSS {peak_kb} KiB"
    out = native.stdout.decode()
    assert "sendmsg controllen -1              = -1 No buffer space available\n" in out
    assert "recvmsg controllen 1 GiB mapped    = 2\n" in out
    assert "sendmsg 1 GiB datagram             = -1 Message too long\n" in out


@needs_root
def test_net_none_cuts_the_hosts_abstract_sockets():
    """Abstract Unix socket names belong to a network namespace: the host's
    (an X server's, a bus's) are reachable from --net host, not from --net
    none."""
    import socket
    exe = build("net_priv.c", "gcc64")
    name = f"sysgate-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as srv:
        srv.bind("\0" + name)
        srv.listen(4)
        host = _run([*sysgate_cmd(), exe, "abstract", name])
        none = _run([*sysgate_cmd("--net", "none"), exe, "abstract", name])
    assert host.stdout == b"connect to the abstract name = ok\n"
    assert none.stdout == b"connect to the abstract name = -1 Connection refused\n"


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
@pytest.mark.parametrize("seed", [1, 2])
def test_socket_calls_with_random_arguments(variant, seed):
    """Socket calls with hostile lengths, pointers and headers, call by
    call as natively (errno order included), and never a failure of
    sysgate's own. Natively without the network powers sysgate gives up."""
    exe = build("net_fuzz.c", variant)
    cmd = [exe, str(seed), "300"]
    native = subprocess.run((NO_NET_CAPS if os.geteuid() == 0 else []) + cmd,
                            capture_output=True, timeout=60)
    emu = _run([*sysgate_cmd(), *cmd])
    assert native.returncode == 0, native.stderr
    got, want = emu.stdout.decode().splitlines(), native.stdout.decode().splitlines()
    assert len(got) == len(want) == 300
    diffs = [(w, g) for w, g in zip(want, got) if w != g]
    assert not diffs, f"{len(diffs)} calls differ, first: {diffs[:3]}"


@pytest.mark.parametrize("variant", ["gcc64", "gcc32"])
@pytest.mark.parametrize("seed", [1, 2])
def test_socket_ioctls_with_random_arguments(variant, seed):
    """Interface, route, ARP and int ioctls on sockets, call by call as
    natively without the network powers: EPERM for the changes, and each
    other answer in Linux's order."""
    exe = build("net_ioctl.c", variant, ["-w"])
    native = subprocess.run((NO_NET_CAPS if os.geteuid() == 0 else []) + [exe, str(seed)],
                            capture_output=True, timeout=60)
    emu = _run([*sysgate_cmd(), exe, str(seed)])
    assert native.returncode == 0, native.stderr
    got, want = emu.stdout.decode().splitlines(), native.stdout.decode().splitlines()
    assert len(got) == len(want) == 400
    diffs = [(w, g) for w, g in zip(want, got) if w != g]
    assert not diffs, f"{len(diffs)} calls differ, first: {diffs[:3]}"
    assert any("Operation not permitted" in line for line in want)
