"""python3 -m sysgate, and the sysgate command (pyproject.toml's entry
point names main: a console script's own `sys.exit(main())` would start
collecting and tear the interpreter down, some 20 ms of every run)."""
import gc


def main():
    # Start-up makes some 100,000 objects that live as long as the process:
    # no collection would find garbage among them, and the collections made
    # while they are built cost about 5 ms (cli.main freezes them once they
    # are in). cli.end leaves without the interpreter's tear-down.
    gc.disable()
    from . import cli
    cli.HELD_GC = True
    cli.end(cli.main())


if __name__ == "__main__":
    main()
