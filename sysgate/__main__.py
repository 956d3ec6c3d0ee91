"""python3 -m sysgate."""
import gc
import sys

# Start-up makes some 100,000 objects that live as long as the process: no
# collection would find garbage among them, and the collections made while
# they are built cost about 5 ms (cli.main freezes them, then collects).
gc.disable()

from . import cli  # noqa: E402

cli.HELD_GC = True
sys.exit(cli.main())
