"""Handler registration and the per-ABI system-call tables.

A handler is registered by the name Linux gives its call, with the kinds of
its arguments (which fix its arity and how each register value is read, and
which the trace printer uses), a support status and a note, as gVisor's
tables do. The tables themselves pair these names with the numbers in
tables/unistd.py, generated from the kernel headers.

One function may serve several calls: a call's variants (open and openat,
getuid and getuid32, the _time64 forms) are registrations of one handler,
each naming the arguments its variant fixes, and a name may be one ABI's
only ("i386:setuid", which takes 16-bit ids).
"""
import functools

from .tables.unistd import NR_I386, NR_X86_64

# How each argument kind is read from a register (already cut to the ABI's
# word size): C int-sized kinds are 32 bits in both ABIs.
def _s32(v):
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


# The two commonest kinds are C callables, no Python frame per argument
# (a system call reads up to six).
_u32 = (0xFFFFFFFF).__and__


def _s64(v):
    return v - (1 << 64) if v & (1 << 63) else v


_raw = int      # a register value is an int already: int() hands it back


KINDS = {
    "fd": _s32, "dirfd": _s32, "int": _s32, "pid": _s32, "sig": _s32, "how": _s32,
    "uint": _u32, "flags": _u32, "oflags": _u32, "mode": _u32, "prot": _u32, "mflags": _u32,
    "cmd": _u32, "clock": _s32, "which": _s32, "resource": _u32, "atflags": _s32,
    "long": "signed", "off": "signed", "ssize": "signed",
    "ptr": _raw, "buf": _raw, "obuf": _raw, "str": _raw, "path": _raw, "size": _raw,
    "ulong": _raw, "addr": _raw,
    "file": _s32,     # a descriptor, handed to the handler as its open file
}


class Syscall:
    # A plain class, as Entry: a dataclass costs every start a third of a millisecond.
    def __init__(self, name, fn, kinds, status="supported", note="", bound=None, call=None):
        self.name = name        # its function's, less sys_; a variant's, its call's
        self.fn = fn
        self.kinds = kinds      # as the trace reads them: a "file" argument is an "fd"
        self.status = status
        self.note = note
        self.bound = bound      # arguments the registration fixes (a variant's)
        self.call = call        # fn, with bound applied and "file" arguments looked up
        self.lazy = False       # a stand-in for a module not imported yet (kernel/lazyreg.py)

    def __repr__(self):
        return f"Syscall({self.name!r}, {self.status!r})"


# (abi, name) -> Syscall; abi None: both ABIs, unless one has its own.
# What must happen before the host process takes another identity
# (kernel.cred): kernel.lazyreg sets it to import_everything.
before_identity_change = None

HANDLERS = {}


def syscall(names, args="", status="supported", note="", **bound):
    """Register the decorated function as the handler of each system call
    in names (separated by spaces; "i386:name" or "x86_64:name" for one
    ABI's number only). args gives the kinds of the register arguments, in
    the order of the function's parameters that bound does not fix: so one
    function serves a call's variants (open and openat, send and sendto,
    the i386 16-bit-id calls), each registration fixing what its variant
    implies. An argument of kind "file" is a descriptor the handler gets as
    its open file (xv6's argfd): EBADF before the handler runs."""
    kinds = tuple(args.split())
    for k in kinds:
        if k not in KINDS:
            raise ValueError(f"{names}: unknown argument kind {k!r}")

    def register(fn):
        params, varargs = _parameters(fn, bound)
        free = [p for p in params if p not in bound]
        if len(params) != len(free) + len(bound) or (len(free) != len(kinds) and not varargs):
            raise ValueError(f"{fn.__name__}: {len(free)} parameters for {len(kinds)} kinds")
        # A variant (a registration that fixes arguments) is known by its
        # call's name; otherwise the handler by its own.
        label = names.split()[0].rpartition(":")[2] if bound else fn.__name__.removeprefix("sys_")
        call = Syscall(label, fn,
                       tuple("fd" if k == "file" else k for k in kinds), status, note,
                       dict(bound), _bind(fn, free, params, bound))
        files = tuple(i for i, k in enumerate(kinds) if k == "file")
        if files:
            call.call = _with_files(call.call, files)
        for name in names.split():
            abi, _, name = name.rpartition(":")
            key = (abi or None, name)
            old = HANDLERS.get(key)
            if old is not None and not old.lazy:
                raise ValueError(f"{name} registered twice")
            HANDLERS[key] = call
            if old is not None:
                # A stand-in becomes the handler: tables built with it
                # (whose entries copy its .call) stay right.
                vars(old).update(vars(call))
        return fn
    return register


def _parameters(fn, bound):
    """The names of fn's positional-or-keyword parameters after the task
    that bound fixes or that have no default, and whether it takes *args;
    read from its code object, as inspect.signature would give them (whose
    import and 366 calls cost every start some milliseconds)."""
    co = fn.__code__
    first_default = co.co_argcount - len(fn.__defaults__ or ())
    names = [name for i, name in enumerate(co.co_varnames[:co.co_argcount])
             if i >= max(1, co.co_posonlyargcount) and (name in bound or i < first_default)]
    return names, bool(co.co_flags & 0x04)      # CO_VARARGS


def _bind(fn, free, params, bound):
    """fn with bound's arguments fixed, taking the others positionally."""
    if not bound:
        return fn
    if params[:len(free)] == free:       # the fixed ones come last
        return functools.partial(fn, **bound)

    def call(t, *args):
        return fn(t, **bound, **dict(zip(free, args)))
    return call


def _with_files(fn, where):
    """fn, given the open files behind the descriptors at positions where."""
    if where == (0,):
        def call(t, fd, *args):
            return fn(t, t.files.get(fd), *args)
        return call

    def call_many(t, *args):
        args = list(args)
        for i in where:
            args[i] = t.files.get(args[i])
        return fn(t, *args)
    return call_many


# Numbers the x86-64 table lists without an entry point (sys_ni_syscall):
# the GDT TLS calls are i386's; 64-bit code sets %fs with arch_prctl.
X86_64_UNIMPLEMENTED = frozenset(("set_thread_area", "get_thread_area", "uselib",
                                  "create_module", "get_kernel_syms", "query_module",
                                  "nfsservctl", "getpmsg", "putpmsg", "afs_syscall",
                                  "tuxcall", "security", "epoll_ctl_old",
                                  "epoll_wait_old", "vserver"))


class Entry:
    __slots__ = ("nr", "name", "call", "_convert", "fn", "run")

    def __init__(self, nr, name, call, convert, fn=None):
        self.nr, self.name, self.call = nr, name, call
        self.convert = convert  # one function per argument
        self.fn = fn            # call.call, one attribute lookup nearer the hot path

    @property
    def convert(self):
        return self._convert

    @convert.setter
    def convert(self, convert):
        # run(entry, task, args): entry.fn called with the arguments as
        # convert reads them (None: the call takes none).
        self._convert = convert
        self.run = _DECODERS.get(convert, _first) if convert else None

    def __repr__(self):
        return f"Entry({self.nr}, {self.name!r})"


# Each converter as an expression, so that a call's arguments are read
# with no call per argument: the same values as the functions give.
_INLINE = {
    _s32: "(((a{i} & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000)",
    _u32: "(a{i} & 0xFFFFFFFF)",
    _s64: "(a{i} - 0x10000000000000000 if a{i} & 0x8000000000000000 else a{i})",
}
_DECODERS = {}      # tuple of converters -> its run


def _first(e, t, a):
    """An entry's run until its first call, which makes it (compiling
    each of the hundred-odd lists of converters when the tables are built
    would cost every start milliseconds)."""
    e.run = run = decoder(e._convert)
    return run(e, t, a)


def decoder(convert):
    """run(entry, task, args) = entry.fn(task, *(c(a) for c, a in
    zip(convert, args))), made once per tuple of converters."""
    convert = tuple(convert)
    run = _DECODERS.get(convert)
    if run is None:
        scope, exprs = {}, []
        for i, c in enumerate(convert):
            if c is _raw:
                # int() of a register value (an int) is that value
                exprs.append(f"a[{i}]")
            elif c in _INLINE:
                exprs.append(_INLINE[c].replace("a{i}", f"a[{i}]"))
            else:
                exprs.append(f"c{i}(a[{i}])")
                scope[f"c{i}"] = c
        exec(f"def run(e, t, a):\n    return e.fn(t, {', '.join(exprs)})\n", scope)
        run = _DECODERS[convert] = scope["run"]
    return run


def converters(abi, kinds):
    """One function per argument kind: how abi's register value is read."""
    is64 = abi == "x86_64"
    signed = _s64 if is64 else _s32
    # i386 registers arrive with whatever a 64-bit caller of INT 0x80 left in
    # the upper halves: every i386 argument is cut to 32 bits.
    raw = _raw if is64 else _u32
    return tuple(signed if KINDS[k] == "signed" else raw if KINDS[k] is _raw else KINDS[k]
                 for k in kinds)


def dispatch(abi, name):
    """(handler, converters): name's handler in abi as the table calls it,
    for a multiplexer (socketcall) that reaches calls by name."""
    call = lookup(abi, name)
    return call.call, converters(abi, call.kinds)


def build_table(abi):
    """A list indexed by number: Entry, or None where nothing is implemented."""
    is64 = abi == "x86_64"
    numbers = NR_X86_64 if is64 else NR_I386
    table = [None] * (max(numbers.values()) + 1)
    for name, nr in numbers.items():
        call = lookup(abi, name)
        if call is None or (is64 and name in X86_64_UNIMPLEMENTED):
            continue
        table[nr] = Entry(nr, name, call, converters(abi, call.kinds), call.call)
    return table


def lookup(abi, name):
    """The Syscall serving name in abi's table (None: not implemented)."""
    return HANDLERS.get((abi, name)) or HANDLERS.get((None, name))


def names(abi):
    """Number -> Linux name, for every number the headers define."""
    numbers = NR_X86_64 if abi == "x86_64" else NR_I386
    return {nr: name for name, nr in numbers.items()}
