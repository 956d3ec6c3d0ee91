"""The session's processes: the first guest and its descendants, the only
host processes a guest can signal or look at."""
import os


# Guest processes are host processes: the guest's signals to another guest
# process are host signals (kernel.hostsig takes them in). Only the session's
# own processes, the first guest and its descendants, can be reached: a
# confined guest cannot signal the host's processes.
def _host_procs():
    """pid -> (ppid, pgrp) of every host process."""
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    rest = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            out[int(name)] = (int(rest[1]), int(rest[2]))
    return out


def guest_processes(t):
    """pid -> pgrp of the session's live processes."""
    procs = _host_procs()
    root = t.session
    out = {}
    for pid, (ppid, pgrp) in procs.items():
        p, seen = pid, 0
        while p not in (0, 1) and seen < 4096:
            if p == root:
                out[pid] = pgrp
                break
            p = procs.get(p, (0, 0))[0]
            seen += 1
    return out
