"""Realtime signals queue: each instance sent while one is pending is kept,
with its own siginfo, and delivered in turn (the signal stays pending until
the last is taken); a standard signal sent while pending is one signal.
The instances past the first wait here; the first's siginfo is where it
always was (Task.siginfo, Process.shared_siginfo), so readers of the one
being delivered are unchanged.

How many may wait is bounded as Linux bounds sigqueue allocations, by
RLIMIT_SIGPENDING (the host's, which is the guest's): past it a kill()
still leaves the signal pending but queues nothing, and a queued send
(tkill, sigqueue) fails with EAGAIN (__send_signal)."""
import collections
import resource

SIGRTMIN = 32


def _limit():
    soft = resource.getrlimit(resource.RLIMIT_SIGPENDING)[0]
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


LIMIT = _limit()


class Queued:
    """The waiting instances of one holder (a thread's own, or its
    process's shared set): signo -> deque of siginfo (or None)."""

    def __init__(self):
        self.more = {}
        self.count = 0

    def put(self, signo, info):
        """Keep one more instance of pending realtime signo; False when
        the limit refuses it."""
        if self.count >= LIMIT:
            return False
        self.more.setdefault(signo, collections.deque()).append(info)
        self.count += 1
        return True

    def next(self, signo):
        """(True, siginfo) of the next waiting instance of signo, taken
        off the queue, or (False, None) when none waits."""
        q = self.more.get(signo)
        if not q:
            return False, None
        self.count -= 1
        info = q.popleft()
        if not q:
            del self.more[signo]
        return True, info

    def take(self, infos, signo):
        """Take signo's instance whose siginfo infos (the holder's signo ->
        siginfo) holds, and put the next waiting one's in its place:
        (its siginfo, whether another instance is still pending)."""
        info = infos.pop(signo, None)
        more, nxt = self.next(signo)
        if more and nxt is not None:
            infos[signo] = nxt
        return info, more

    def drop(self, signo):
        self.count -= len(self.more.pop(signo, ()))
