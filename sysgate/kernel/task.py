"""The task: everything a handler may touch, and nothing of the CPU engine
but the address space's accessors and the register file through entry."""
import os
import struct

from .sched import Timers


class ExitGroup(Exception):
    """Raised by exit/exit_group: the run loop ends the guest."""

    def __init__(self, status):
        super().__init__(status)
        self.status = status


class Task:
    def __init__(self, machine, mm, files, fs, is64):
        self.machine = machine
        self.mm = mm
        self.files = files
        self.fs = fs
        self.set_abi(is64)
        self.pid = self.tid = os.getpid()
        self.exe_path = ""
        self.argv, self.envp = [], []
        self.auxv_bytes = b""
        self.clear_child_tid = 0
        self.robust_list = (0, 0)
        self.sigactions = {}
        self.sigmask = 0
        self.pending = 0
        self.siginfo = {}             # signo -> siginfo bytes of the pending instance
        self.vdso_symbols = None      # name -> address, once a vDSO is mapped
        self.uid = os.getuid()
        self.saved_sigmask = None     # set by sigsuspend, restored after the handler
        self.rseq = None              # (address, length, signature) once registered
        self.restart_block = None     # what restart_syscall resumes
        self.timers = Timers(self)
        self.timekeeper = None        # set at exec (kernel.time.TimeKeeper)
        self.altstack = (0, 2, 0)     # sp, flags (SS_DISABLE), size
        self.rlimits = {}
        self.exit_status = None       # ('exit', code) or ('signal', signo)
        self.host = getattr(machine, "hostsig", None)   # signals from outside (hostsig)
        self.children = {}            # pid -> exit signal, of the children forked
        self.vfork_done = None        # a vfork child's pipe to its waiting parent

    def raise_signal(self, signo, info=None):
        """Make signo pending (a timer fired, a fault, another sender)."""
        if signo:
            self.pending |= 1 << (signo - 1)
            if info is not None:
                self.siginfo[signo] = info

    def set_abi(self, is64):
        """The ABI of the system call in progress (Linux's in_compat_syscall):
        a 64-bit program may use the i386 table through INT 0x80."""
        self.is64 = is64
        self.word = 8 if is64 else 4
        self.abi = "x86_64" if is64 else "i386"

    def read_word(self, addr):
        return struct.unpack("<Q" if self.is64 else "<I", self.mm.read(addr, self.word))[0]

    def write_word(self, addr, v):
        self.mm.write(addr, struct.pack("<Q" if self.is64 else "<I",
                                        v & ((1 << (8 * self.word)) - 1)))
