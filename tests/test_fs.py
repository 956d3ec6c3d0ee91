"""File-system system calls: real C programs run natively and under sysgate
must print the same things. Each side runs in a fresh directory of its own,
so files one run leaves behind cannot change what the other sees."""
import signal

import pytest

from conftest import ALL, build, run_native, run_sysgate

# Every variant of the harness, plus i386 glibc with 64-bit off_t (stat64,
# getdents64, _llseek and the split-offset pread64/ftruncate64 calls).
VARIANTS = [pytest.param(v, (), id=v) for v in ALL] + [
    pytest.param("gcc32", ("-D_FILE_OFFSET_BITS=64",), id="gcc32-lfs")]


def assert_same_fresh(exe, tmp_path, args=(), input=None):
    dirs = []
    for name in ("native", "sysgate"):
        d = tmp_path / name
        d.mkdir()
        dirs.append(d)
    native = run_native(exe, args, cwd=dirs[0], input=input)
    emu = run_sysgate(exe, args, cwd=dirs[1], input=input)
    assert emu.status == native.status, (native, emu)
    assert emu.stdout == native.stdout, (native, emu)
    assert emu.stderr == native.stderr, (native, emu)
    return native, emu


@pytest.mark.parametrize("variant,flags", VARIANTS)
def test_open_read_write_seek_stat(variant, flags, tmp_path):
    """open/openat/creat, read/write/pread/pwrite/readv/writev, lseek and
    _llseek, O_APPEND/O_TRUNC/O_EXCL, the stat family, statx, readdir,
    truncate; on i386 without large-file support, the 2 GiB write limit."""
    native, _ = assert_same_fresh(build("fs_files.c", variant, flags), tmp_path)
    out = native.stdout.decode()
    assert "stat/fstat ino equal: 1" in out
    assert ".: ..:d .:d a.txt:f b.txt:f c.txt:f d:d dlink:l lnk:l" in out


@pytest.mark.parametrize("variant,flags", VARIANTS)
def test_names_links_cwd_umask(variant, flags, tmp_path):
    """mkdir/rmdir/unlink/rename and their *at forms, symlink/readlink, link
    and linkat, access, chdir/fchdir/getcwd (also into a directory deleted
    while open), umask, with the errno of every usual failure."""
    native, _ = assert_same_fresh(build("fs_names.c", variant, flags), tmp_path)
    out = native.stdout.decode()
    assert "rmdir(\"d\") = -1 Directory not empty (39)" in out
    assert "mode m640: 640" in out


@pytest.mark.parametrize("variant,flags", VARIANTS)
def test_descriptors_pipes_fcntl(variant, flags, tmp_path):
    """dup/dup2/dup3, pipe/pipe2 with data, fcntl flags and F_DUPFD, /proc/self/fd,
    /dev/stdin and /proc/self/cwd, EBADF on a closed descriptor."""
    native, _ = assert_same_fresh(build("fs_fds.c", variant, flags), tmp_path,
                                  input=b"from stdin\n")
    assert b"stdin through /dev/stdin: 'from stdin\n'" in native.stdout


@pytest.mark.parametrize("variant,flags", VARIANTS)
def test_bad_pointers_and_huge_lengths(variant, flags, tmp_path):
    """EFAULT for (void *)1, unmapped and read-only buffers; partial transfers
    where a buffer runs off its mapping; huge counts bounded by what is mapped."""
    native, _ = assert_same_fresh(build("fs_efault.c", variant, flags), tmp_path)
    assert native.stdout.endswith(b"still alive\n")
    assert b"= -1 Bad address (14)" in native.stdout


def test_write_limit_without_largefile(tmp_path):
    """An i386 open without O_LARGEFILE: F_GETFL does not show it and writes
    stop at 2 GiB with EFBIG, as the host does for a 32-bit process."""
    native, _ = assert_same_fresh(build("fs_files.c", "gcc32"), tmp_path)
    assert b'write(fd, "!", 1) = -1 File too large (27)' in native.stdout
    (tmp_path / "fds").mkdir()
    native, _ = assert_same_fresh(build("fs_fds.c", "gcc32"), tmp_path / "fds")
    assert b"rdwr file: acc 2 append 0 nonblock 0 largefile 0" in native.stdout


@pytest.mark.parametrize("variant,flags", VARIANTS)
def test_less_common_calls(variant, flags, tmp_path):
    """mkfifo/mknod, chown to oneself, statfs/fstatfs, fallocate,
    preadv/pwritev, sendfile, renameat2 flags, flock, msync/mincore/mlock."""
    native, _ = assert_same_fresh(build("fs_more.c", variant, flags), tmp_path)
    assert b"copy 'abcdefghabcd'" in native.stdout
    assert b"x now holds 'Y'" in native.stdout


@pytest.mark.parametrize("variant", ALL)
def test_extended_attributes(variant, tmp_path):
    """get/set/list/removexattr on paths, symlinks (l*) and fds, and their
    errors (ENODATA, ERANGE, EEXIST, E2BIG, EFAULT, EPERM on a symlink)."""
    native, _ = assert_same_fresh(build("fs_xattr.c", variant), tmp_path)
    out = native.stdout.decode()
    if "no user xattrs here" in out:
        pytest.skip("this file system keeps no user.* attributes")
    assert "list through the link: 18: user.one user.two" in out
    assert 'lsetxattr("l", "user.one", "x", 1, 0)        = -1 Operation not permitted' in out


@pytest.mark.parametrize("variant", ALL)
def test_poll_and_select(variant, tmp_path):
    """poll/ppoll/select/pselect: readiness, timeouts and the time left,
    errors, EINTR from a timer whatever SA_RESTART says, masks swapped in
    for the wait only."""
    native, _ = assert_same_fresh(build("fs_poll.c", variant), tmp_path)
    out = native.stdout.decode()
    assert "  revents 0 0x4 0 0x20\n" in out
    assert "select, SA_RESTART handler         = -1 Interrupted system call" in out
    assert "  alarms 1, blocked again 1" in out


@pytest.mark.parametrize("variant", ALL)
def test_epoll_and_eventfd(variant, tmp_path):
    """epoll on the host's own instance (data word untouched, level and
    edge triggering, MOD and DEL, errors), EINTR from a timer, the
    pwait mask; eventfd's counter and semaphore mode."""
    native, _ = assert_same_fresh(build("fs_epoll.c", variant), tmp_path)
    out = native.stdout.decode()
    assert "  events 0x1 data 0x1122334455667788\n" in out
    assert "wait interrupted (SA_RESTART)      = -1 Interrupted system call" in out


@pytest.mark.parametrize("variant", ALL)
def test_memfd_and_inotify(variant, tmp_path):
    """memfd_create (data, /proc name, shared with a child, seals, errors)
    and inotify on a directory and a file (paths resolved inside the root
    as every path is), with its errors."""
    native, _ = assert_same_fresh(build("fs_anon.c", variant), tmp_path)
    out = native.stdout.decode()
    assert "  named '/memfd:sysgate-test (deleted)'\n" in out
    assert "  event wd+1 mask 0x100 name 'file'\n" in out
    assert "grow it                          = -1 Operation not permitted" in out


@pytest.mark.parametrize("variant", ALL)
def test_timerfd(variant, tmp_path):
    """timerfd: one-shot and interval expirations read back, absolute
    expiries on the guest's clocks, gettime and old values, EAGAIN, errors."""
    native, _ = assert_same_fresh(build("fs_timerfd.c", variant), tmp_path)
    out = native.stdout.decode()
    assert "  expirations 1\n" in out and "interval: several expirations 1\n" in out
    assert "read, fired at once                = 8" in out


@pytest.mark.parametrize("variant", ALL)
def test_nofile_limit(variant, tmp_path):
    """RLIMIT_NOFILE bounds the guest's descriptor table as alloc_fd, dup2
    and F_DUPFD see it (not a fixed 1024), and fs.nr_open caps the limit."""
    native, _ = assert_same_fresh(build("fs_nofile.c", variant), tmp_path)
    out = native.stdout.decode()
    assert "highest fd 39\n" in out
    assert "dup2 to 2500           2500" in out
    assert "setrlimit infinity     -1 Operation not permitted" in out
