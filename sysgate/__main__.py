"""python3 -m sysgate."""
import gc

# Start-up makes some 100,000 objects that live as long as the process: no
# collection would find garbage among them, and the collections made while
# they are built cost about 5 ms (cli.main freezes them once they are in).
gc.disable()

from . import cli  # noqa: E402

cli.HELD_GC = True
cli.end(cli.main())
