"""Signals that arrive: the ones sent from outside (the host kernel's, for
this process: kernel.hostsig) made pending with their siginfo, and the
test of an ignored action that drops a signal on arrival. Below both
kernel.signal and kernel.sched, which ask for it before looking at what is
pending."""
from ..abi.consts import (CLD_EXITED, SA_NOCLDSTOP, SIGCHLD, SIGCONT, SIGKILL,  # noqa: F401
                          SIGSTOP, SIGURG, SIGWINCH)
from . import sigframe
from .hostsig import OWN_CHILDREN
from .sigqueue import SIGRTMIN

SIG_DFL, SIG_IGN = 0, 1
# Default actions other than terminate: ignore (SIGCONT's continue is
# done by the host, which continues the stopped sysgate process) and stop.
DEFAULT_IGNORE = {SIGCHLD, SIGCONT, SIGURG, SIGWINCH}


# A host signal with this si_code is ptrace's note that a tracer attached;
# kernel.ptrace.attach sets note_taker to take it.
PTRACE_NOTE = -60
note_taker = None


def absorb_host_signals(t):
    """Make the signals that reached this process from outside pending,
    with the sender's siginfo (kernel.hostsig)."""
    drain = getattr(t.host, "drain", None)
    if drain is not None:
        drain()         # a thread's own wake-ups: looked at from here on
    if t.host.kicked and t.tid in t.host.kicked:
        _absorb_own(t)
    if not t.host.pending:
        return
    for hi in t.host.take():
        signo, code = hi.si_signo, hi.si_code
        if code == PTRACE_NOTE and note_taker is not None and note_taker(t, hi):
            continue        # PTRACE_ATTACH told us we are traced now
        if signo == SIGCHLD:
            if hi.si_pid in OWN_CHILDREN:
                continue
            exit_signal = t.children.get(hi.si_pid, SIGCHLD)
            act = t.sigactions.get(SIGCHLD, (SIG_DFL, 0))
            if code != CLD_EXITED and code in (4, 5, 6) and act[1] & SA_NOCLDSTOP:
                continue     # stopped, continued: not reported with SA_NOCLDSTOP
            if exit_signal != SIGCHLD:
                if not exit_signal:
                    continue
                signo = exit_signal
            info = sigframe.siginfo(signo, code, True, pid=hi.si_pid, uid=hi.si_uid,
                                    status=hi.si_status)
        else:
            info = _as_sent(hi)
        if not ignored(t, signo):
            if not t.proc.shared_pending & (1 << (signo - 1)) or signo >= SIGRTMIN:
                t.proc.raise_signal(signo, info)    # realtime ones queue (kernel.sigqueue)


def _absorb_own(t):
    """Signals another process sent to this thread alone (tgkill)."""
    for hi in t.host.take_own(t.tid):
        if hi.si_code == PTRACE_NOTE and note_taker is not None and note_taker(t, hi):
            continue        # a tracer's note relayed to this thread (ptrace.notes)
        if not ignored(t, hi.si_signo):
            t.add_pending(hi.si_signo, _as_sent(hi))


def _as_sent(hi):
    """The guest's siginfo of host signal hi: a queued one's (sigqueue, a
    timer, tgkill: si_code < 0) as it was sent, value included; else made
    of its sender."""
    if hi.si_code < 0 and getattr(hi, "raw", None):
        return hi.raw
    return sigframe.siginfo(hi.si_signo, hi.si_code, True, pid=hi.si_pid, uid=hi.si_uid)


def ignored(t, sig):
    if getattr(t.debugger, "ptraced", False) and sig != SIGKILL:
        return False        # a tracer sees even ignored signals (sig_ignored)
    if t.sigmask & (1 << (sig - 1)):
        return False        # nor is a blocked one ignored: sigwaitinfo may take it
    handler = t.sigactions.get(sig, (SIG_DFL,))[0]
    return sig not in (SIGKILL, SIGSTOP) and (
        handler == SIG_IGN or (handler == SIG_DFL and sig in DEFAULT_IGNORE))
