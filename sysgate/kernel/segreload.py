"""set_thread_area on the caller's own TLS entry: a data segment register
that holds the entry's selector is loaded again, as Linux's
do_set_thread_area does (loadsegment, whose fault fix-up leaves the null
selector), so a cleared or now-unusable entry leaves DS/ES/FS/GS at 0 and a
changed one is used with its new base and limit at once (the kernel's
ldt_gdt selftest, "Invalidate DS with set_thread_area")."""
from ..cpu.engine import REG
from .sigframe import DATA_SEGMENTS, load_data_segment


def reload_tls_selectors(t, entry):
    th = t.thread
    if th.first is not None:        # a thread not yet started: nothing loaded
        return
    sel = (entry << 3) | 3
    cur = th.read_regs()
    for seg in DATA_SEGMENTS:
        if cur[seg] == sel:
            th.cpu.reg_write(REG[seg], load_data_segment(t, sel))
