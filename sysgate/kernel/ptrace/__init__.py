"""ptrace for guests: a tracer and its tracees are separate host processes
(each runs its own sysgate), so a stop is a conversation over a Unix socket.

  channel.py  the socket of a tracer (in the session's spool directory) and
              the messages, JSON over SOCK_SEQPACKET
  consts.py   request, option and event numbers (include/uapi/linux/ptrace.h)
  regs.py     user_regs_struct for x86-64 and i386, struct user offsets
  tracee.py   the tracee's half: its stops (machine.debug while traced, the
              hook points the gdb stub uses), serving its tracer while stopped;
              sysstops.py (system-call and fork stops) and sigstops.py
              (signal-delivery-stops) are its mixins
  tracer.py   the tracer's half: its tracees' stops, merged into wait4/waitid
  attach.py   ATTACH and SEIZE, and taking in the notes (notes.py: host
              signals between the two halves: attach, interrupt, a
              tracer's SIGSTOP, a tracee's SIGCHLD)
  hwbp.py     the debug registers, armed on the tracee's CPU
  calls.py    ptrace(2); regsets.py its register requests
  processvm.py  process_vm_readv/writev
"""
