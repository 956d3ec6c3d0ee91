"""vFile: gdb reads the program, its libraries and /proc through the stub
(host I/O packets, answered from the target's open_file and readlink)."""
import struct

from .protocol import PACKET_SIZE, _hexint

# gdb's File-I/O errno values: Linux's below 31, then a few renumbered.
_FILEIO_ERRNO = {36: 91}


def _file_error(errno):
    if errno is None or errno > 30 and errno not in _FILEIO_ERRNO:
        errno = 9999
    return b"F-1,%x" % _FILEIO_ERRNO.get(errno, errno)


class HostFiles:
    """GdbStub's vFile packets (self.target, self._files, self._next_fd)."""

    def _vfile(self, text):
        op, _, arg = text.partition(":")
        args = arg.split(",")
        try:
            if op == "setfs":
                return b"F0"
            if op == "open":
                if _hexint(args[1]) & 3:
                    return _file_error(13)          # read-only, like gdbserver's reads
                f = self.target.open_file(bytes.fromhex(args[0]))
                fd = self._next_fd
                self._next_fd += 1
                self._files[fd] = f
                return b"F%x" % fd
            if op == "pread":
                f = self._files.get(_hexint(args[0]))
                if f is None:
                    return _file_error(9)
                count = min(_hexint(args[1]), PACKET_SIZE // 2 - 64)
                f.seek(_hexint(args[2]))
                data = f.read(count)
                return b"F%x;" % len(data) + data
            if op == "close":
                f = self._files.pop(_hexint(args[0]), None)
                if f is None:
                    return _file_error(9)
                f.close()
                return b"F0"
            if op == "fstat":
                f = self._files.get(_hexint(args[0]))
                if f is None:
                    return _file_error(9)
                pos = f.seek(0, 2)
                # gdb's struct stat: big-endian, dev..rdev 32-bit, sizes 64, times 32.
                st = struct.pack(">IIIIIIIQQQIII", 0, 0, 0o100444, 1, 0, 0, 0, pos, 4096,
                                 (pos + 511) // 512, 0, 0, 0)
                return b"F%x;" % len(st) + st
            if op == "readlink":
                data = self.target.readlink(bytes.fromhex(args[0]))
                return b"F%x;" % len(data) + data
        except OSError as e:
            return _file_error(e.errno)
        return b""
