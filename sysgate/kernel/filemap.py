"""File and shared mappings of an address space: a file mapped shared or
private, shared anonymous memory and its growth, and what a truncate of a
mapped file changes."""
import ctypes
import mmap as _mmap
import os

from .errors import KernelError, E
from .hostmem import HostMapping, host_inode
from .vma import page_up


class FileMappings:
    """AddressSpace's file and shared mappings (kernel.mm)."""

    def map_file(self, start, size, prot, shared, mf, offset, **ident):
        """Map size bytes of the file mf from offset (page-aligned): the
        pages the file covers now, shared ones as the host's own mapping of
        the file so that stores reach it, private ones as a copy; the pages
        past its end lazily."""
        fsize = os.fstat(mf.host).st_size
        in_file = min(size, max(page_up(fsize) - offset, 0))
        if in_file and shared:
            # The host maps whole pages; its mmap object wants the length
            # inside the file.
            prot_host = _mmap.PROT_READ | (_mmap.PROT_WRITE if mf.writable else 0)
            m = HostMapping(in_file, prot_host, _mmap.MAP_SHARED, mf.host, offset)
            self.map(start, in_file, prot, ptr=m.addr, shared=True, file=mf, offset=offset,
                     hold=m, **ident)
        elif in_file:
            self._map_private_file(start, in_file, prot, mf, offset, ident)
        if in_file < size:
            self.map(start + in_file, size - in_file, prot, lazy=True, shared=shared, file=mf,
                     offset=offset + in_file, **ident)

    def _map_private_file(self, start, size, prot, mf, offset, ident):
        """The host's own private mapping of the file: untouched pages are
        the file's (a sparse file's holes cost nothing), written ones the
        process's own copies. A file the host cannot map is read into
        anonymous memory instead, straight into the host pages."""
        k = self.kept
        if k is not None and k.matches(start, size, prot, offset, ident.get("dev"),
                                       ident.get("ino")):
            # the old interpreter's code, the same file's (keepinterp.set_aside)
            self.kept = None
            self.map(start, size, prot, ptr=k.ptr, hold=k.hold, file=mf, offset=offset,
                     adopt=True, **ident)
            return
        m = None
        try:
            m = HostMapping(size, _mmap.PROT_READ | _mmap.PROT_WRITE, _mmap.MAP_PRIVATE,
                            mf.host, offset)
        except OSError:
            pass
        if m is None:
            m = HostMapping.anon(size)
            try:
                os.preadv(mf.host, [(ctypes.c_char * size).from_address(m.addr)], offset)
            except OSError:
                raise KernelError(E.ENODEV) from None
        self.map(start, size, prot, ptr=m.addr, hold=m, file=mf, offset=offset, **ident)

    def map_shared_anon(self, start, size, prot):
        """Shared anonymous memory: host memory mapped shared, so that a
        forked child (a forked host process) shares it, as after Linux's
        fork; Linux names it /dev/zero (deleted), a shmem inode."""
        m = HostMapping(size, _mmap.PROT_READ | _mmap.PROT_WRITE,
                        _mmap.MAP_SHARED | _mmap.MAP_ANONYMOUS)
        dev, ino = host_inode(m.addr)
        self.map(start, size, prot, ptr=m.addr, shared=True, name="/dev/zero (deleted)",
                 dev=dev, ino=ino, hold=m)

    def grow_shared(self, v, start, size):
        """mremap growing shared anonymous memory (v the piece before
        start): it maps more of the same object, whose size stays what it
        was (a shmem file's): pages past its end are SIGBUS."""
        off = v.offset + (start - v.start)          # in the object
        inside, hold = 0, v.hold if v.backed else None
        if hold is not None:
            inside = max(0, min(size, hold.length - off))
            if inside:
                self.map(start, inside, v.prot, ptr=hold.addr + off, hold=hold, shared=True,
                         name=v.name, offset=off, dev=v.dev, ino=v.ino)
        if size > inside:
            self.map(start + inside, size - inside, v.prot, lazy=True, shared=True,
                     name=v.name, offset=off + inside, dev=v.dev, ino=v.ino)

    def before_truncate(self, dev, ino, size):
        """The file (dev, ino) is cut to size: its pages past the new end
        leave every mapping of it, private copies included (Linux's
        truncate_pagecache unmaps even COWed pages), so the next touch is
        SIGBUS. Host pages must go before the host file shrinks under them:
        the CPU touching one would fault in sysgate itself."""
        if not self.file_maps:
            return
        keep = page_up(size)
        for v in list(self.vmas):
            if (v.file is not None and v.backed and v.dev == dev and v.ino == ino
                    and v.offset + (v.end - v.start) > keep):
                cut = max(v.start, v.start + keep - v.offset)
                self.map(cut, v.end - cut, v.prot, lazy=True, shared=v.shared, name=v.name,
                         offset=v.offset + (cut - v.start), dev=dev, ino=ino, file=v.file)
