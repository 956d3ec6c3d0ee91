"""sysgate's own host threads (the signal helper, the timer thread),
started without waiting for them to run.

threading.Thread.start waits until the new thread has run its first
Python: in a forked child whose parent keeps the other CPU busy, that
wait was 2-5 ms of wall time per thread, paid by every fork+exec. These
threads need no start handshake: whatever they watch is set up before
they start."""
import _thread


class Helper:
    """A daemon host thread running fn(); ident is its pthread id (for
    pthread_kill), join() waits for its end."""

    def __init__(self, fn):
        self._running = _thread.allocate_lock()
        self._running.acquire()
        self.ident = _thread.start_new_thread(self._main, (fn,))

    def _main(self, fn):
        try:
            fn()
        finally:
            self._running.release()

    def join(self):
        with self._running:
            pass

    def is_alive(self):
        return self._running.locked()
