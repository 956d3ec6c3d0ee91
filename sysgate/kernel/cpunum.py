"""Which CPU a guest thread is on. The emulated machine runs every thread
on one host thread, but a program that pins itself with sched_setaffinity
asks getcpu (the system call, the vDSO, the vsyscall page, rseq's cpu_id)
where it runs and expects the CPU it pinned to (the kernel's selftests
test_vsyscall and vdso_test_correctness check all of them against each
other). So a thread is on the lowest CPU of its affinity mask, CPU 0 until
it sets one."""
import struct


def cpu_of(t):
    mask = getattr(t, "affinity", None)
    if not mask:
        return 0
    return (mask & -mask).bit_length() - 1


def moved(t):
    """After thread t's affinity changed: the places a guest reads its CPU
    number from without a system call follow it."""
    cpu = cpu_of(t)
    if t.rseq is not None:
        try:
            t.mm.write(t.rseq[0], struct.pack("<II", cpu, cpu))
        except Exception:       # an rseq area since unmapped: Linux would kill at return
            pass
    tk = getattr(t, "timekeeper", None)
    if tk is None or tk.vvar is None:
        return
    from ..vdso import vvar
    cpus = {cpu_of(o) for o in t.proc.threads.values()} | {cpu}
    old = tk.vvar
    new = vvar.Vvar(**{**old.__dict__, "bases": dict(old.bases)})
    new.seq = old.seq + 2
    if len(cpus) == 1:
        new.cpu, new.flags = cpu, old.flags | vvar.F_GETCPU
    else:
        # one page for every thread: the vDSO asks the system call instead
        new.flags = old.flags & ~vvar.F_GETCPU
    tk.vvar = new
    tk.write_page(new.pack())
