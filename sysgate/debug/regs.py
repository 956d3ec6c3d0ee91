"""Register layouts of gdb's x86 targets, and their target descriptions.

The order is gdb's register numbering for i386:x86-64 and i386 as its own
feature files define it (org.gnu.gdb.i386.core, .sse, .linux, .segments):
`g` packets and `p n` use it. Each register is (name, bits, gdb type,
feature); the values come from the target by name (see target.py).
"""

_FLAGS = """<flags id="i386_eflags" size="4">{}</flags>""".format("".join(
    f'<field name="{n}" start="{b}" end="{b}"/>' for n, b in (
        ("CF", 0), ("", 1), ("PF", 2), ("AF", 4), ("ZF", 6), ("SF", 7), ("TF", 8),
        ("IF", 9), ("DF", 10), ("OF", 11), ("NT", 14), ("RF", 16), ("VM", 17),
        ("AC", 18), ("VIF", 19), ("VIP", 20), ("ID", 21))))

_MXCSR = """<flags id="i386_mxcsr" size="4">{}</flags>""".format("".join(
    f'<field name="{n}" start="{b}" end="{b}"/>' for n, b in (
        ("IE", 0), ("DE", 1), ("ZE", 2), ("OE", 3), ("UE", 4), ("PE", 5), ("DAZ", 6),
        ("IM", 7), ("DM", 8), ("ZM", 9), ("OM", 10), ("UM", 11), ("PM", 12), ("FZ", 15))))

_VEC128 = (
    '<vector id="v8bf16" type="bfloat16" count="8"/>'
    '<vector id="v8h" type="ieee_half" count="8"/>'
    '<vector id="v4f" type="ieee_single" count="4"/>'
    '<vector id="v2d" type="ieee_double" count="2"/>'
    '<vector id="v16i8" type="int8" count="16"/>'
    '<vector id="v8i16" type="int16" count="8"/>'
    '<vector id="v4i32" type="int32" count="4"/>'
    '<vector id="v2i64" type="int64" count="2"/>'
    '<union id="vec128">'
    '<field name="v8_bfloat16" type="v8bf16"/><field name="v8_half" type="v8h"/>'
    '<field name="v4_float" type="v4f"/><field name="v2_double" type="v2d"/>'
    '<field name="v16_int8" type="v16i8"/><field name="v8_int16" type="v8i16"/>'
    '<field name="v4_int32" type="v4i32"/><field name="v2_int64" type="v2i64"/>'
    '<field name="uint128" type="uint128"/></union>')

_X87 = ([(f"st{i}", 80, "i387_ext") for i in range(8)]
        + [(n, 32, "int") for n in "fctrl fstat ftag fiseg fioff foseg fooff fop".split()])
_SEGS = [(n, 32, "int32") for n in "cs ss ds es fs gs".split()]


class Layout:
    """One architecture's registers in gdb's order."""

    def __init__(self, arch, features):
        self.arch = arch
        self.features = features          # [(feature name, [(reg, bits, type)])]
        self.regs = [r for _, regs in features for r in regs]
        self.names = [r[0] for r in self.regs]
        self.bits = {r[0]: r[1] for r in self.regs}
        self.index = {n: i for i, n in enumerate(self.names)}
        self.pc = "rip" if arch == "i386:x86-64" else "eip"
        self.sp = "rsp" if arch == "i386:x86-64" else "esp"
        self.fp = "rbp" if arch == "i386:x86-64" else "ebp"

    def target_xml(self):
        out = ['<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd">',
               f"<target><architecture>{self.arch}</architecture><osabi>GNU/Linux</osabi>"]
        for name, regs in self.features:
            out.append(f'<feature name="{name}">')
            if name.endswith(".core"):
                out.append(_FLAGS)
            elif name.endswith(".sse"):
                out.append(_VEC128 + _MXCSR)
            for reg, bits, typ in regs:
                group = ' group="float"' if typ == "int" and reg.startswith("f") else ""
                group = ' group="vector"' if reg == "mxcsr" else group
                out.append(f'<reg name="{reg}" bitsize="{bits}" type="{typ}"{group}/>')
            out.append("</feature>")
        out.append("</target>")
        return "".join(out)

    # --- values <-> the little-endian bytes of g/p packets ----------------
    def encode(self, name, value):
        n = self.bits[name] // 8
        if isinstance(value, (bytes, bytearray)):
            return bytes(value[:n]).ljust(n, b"\0")
        return (value & ((1 << (8 * n)) - 1)).to_bytes(n, "little")

    def decode(self, name, raw):
        if name.startswith("st"):
            return bytes(raw)           # x87 registers travel as their 10 bytes
        return int.from_bytes(raw, "little")

    def size(self, name):
        return self.bits[name] // 8


AMD64 = Layout("i386:x86-64", [
    ("org.gnu.gdb.i386.core",
     [(n, 64, "int64") for n in "rax rbx rcx rdx rsi rdi".split()]
     + [("rbp", 64, "data_ptr"), ("rsp", 64, "data_ptr")]
     + [(f"r{i}", 64, "int64") for i in range(8, 16)]
     + [("rip", 64, "code_ptr"), ("eflags", 32, "i386_eflags")] + _SEGS + _X87),
    ("org.gnu.gdb.i386.sse",
     [(f"xmm{i}", 128, "vec128") for i in range(16)] + [("mxcsr", 32, "i386_mxcsr")]),
    ("org.gnu.gdb.i386.linux", [("orig_rax", 64, "int")]),
    ("org.gnu.gdb.i386.segments", [("fs_base", 64, "int"), ("gs_base", 64, "int")]),
])

I386 = Layout("i386", [
    ("org.gnu.gdb.i386.core",
     [(n, 32, "int32") for n in "eax ecx edx ebx".split()]
     + [("esp", 32, "data_ptr"), ("ebp", 32, "data_ptr"), ("esi", 32, "int32"),
        ("edi", 32, "int32"), ("eip", 32, "code_ptr"), ("eflags", 32, "i386_eflags")]
     + _SEGS + _X87),
    ("org.gnu.gdb.i386.sse",
     [(f"xmm{i}", 128, "vec128") for i in range(8)] + [("mxcsr", 32, "i386_mxcsr")]),
    ("org.gnu.gdb.i386.linux", [("orig_eax", 32, "int")]),
])

# gdb's 32-bit names for the 64-bit registers they are the low half of.
NAME64 = {"eax": "rax", "ecx": "rcx", "edx": "rdx", "ebx": "rbx", "esp": "rsp",
          "ebp": "rbp", "esi": "rsi", "edi": "rdi", "eip": "rip", "orig_eax": "orig_rax"}


def layout(is64):
    return AMD64 if is64 else I386
