"""personality: the execution domain and its flags.

Only PER_LINUX (and PER_LINUX32, which uname reports as i686) exists here;
the flags are kept for the guest as Linux keeps them. READ_IMPLIES_EXEC is
the loader's verdict for the running program (an i386 program without
PT_GNU_STACK), so a query shows it as Linux's does."""
from .registry import syscall

QUERY = 0xFFFFFFFF
READ_IMPLIES_EXEC = 0x0400000


@syscall("personality", "uint")
def sys_personality(t, persona):
    old = getattr(t, "personality", 0)
    if getattr(t.mm, "read_implies_exec", False):
        old |= READ_IMPLIES_EXEC
    if persona != QUERY:
        t.personality = persona
    return old
