"""Build step: check a linked vDSO image and write its metadata.

    python3 genmeta.py [--cc gcc] vdsoNN.so.dbg vdsoNN.so vdsoNN.json

The checks are the ones a vDSO must pass (Linux's vdso2c makes the same):
one read-only executable PT_LOAD that is the file from offset 0, with
PT_DYNAMIC, PT_NOTE and PT_GNU_EH_FRAME; both hash tables; no dynamic
relocations; every export versioned and found through both hash tables.
The metadata gives the kernel what it needs without parsing ELF: symbol
offsets, and for the i386 image the __kernel_vsyscall alternative slot,
int80_landing_pad and the byte sequences of each gate.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import elfread as E  # noqa: E402

PAGE = 4096
SLOT_SYMBOLS = ("vsyscall_alt_slot", "vsyscall_alt_slot_end", "int80_landing_pad")
GATES = ("sysenter", "syscall")


def fail(msg):
    sys.exit(f"genmeta: {msg}")


def check_image(img, path):
    if img.type != E.ET_DYN:
        fail(f"{path}: not ET_DYN")
    types = sorted(p.type for p in img.phdrs)
    want = sorted([E.PT_LOAD, E.PT_DYNAMIC, E.PT_NOTE, E.PT_GNU_EH_FRAME])
    if types != want:
        fail(f"{path}: program headers {[hex(t) for t in types]}, want {[hex(t) for t in want]}")
    (load,) = img.segments(E.PT_LOAD)
    if load.offset or load.vaddr or load.filesz != load.memsz or load.flags != 5:
        fail(f"{path}: the PT_LOAD must be the file from 0, R+X, without bss: {load}")
    if load.filesz > len(img.data):
        fail(f"{path}: PT_LOAD runs past the file")
    tags = dict(img.dynamic())
    for t in (E.DT_REL, E.DT_RELA, E.DT_JMPREL, E.DT_TEXTREL, E.DT_RELCOUNT, E.DT_RELACOUNT):
        if t in tags:
            fail(f"{path}: dynamic relocations (tag {t:#x}); a vDSO is never relocated")
    for t, name in ((E.DT_HASH, "DT_HASH"), (E.DT_GNU_HASH, "DT_GNU_HASH"),
                    (E.DT_VERSYM, "DT_VERSYM"), (E.DT_VERDEF, "DT_VERDEF")):
        if t not in tags:
            fail(f"{path}: no {name}")
    for s in img.sections:
        if s.name.startswith((".rel", ".plt")) and s.size:
            fail(f"{path}: section {s.name} ({s.size} bytes); no relocations allowed")
        if s.flags & 1 and s.size and s.name != ".dynamic":       # SHF_WRITE
            # .dynamic is flagged writable by convention; no dynamic linker
            # ever touches a vDSO's. Only i386's .got.plt header may be in
            # .data (_GLOBAL_OFFSET_TABLE_ anchors @GOTOFF); never written.
            if s.name != ".data" or s.size > 3 * img.w:
                fail(f"{path}: writable section {s.name} of {s.size} bytes")


def exports(img, path):
    out = {}
    soname = img.cstr(img.off(img.dyn(E.DT_STRTAB)) + img.dyn(E.DT_SONAME))
    for s in img.dynsyms():
        if not s.name or s.shndx == E.SHN_UNDEF or s.shndx == E.SHN_ABS:
            continue                     # the null symbol, version definitions
        if s.version is None or s.version == soname:
            fail(f"{path}: {s.name} has no version")
        for how in (img.lookup_sysv, img.lookup_gnu):
            hit = how(s.name, s.version)
            if hit is None or hit.value != s.value:
                fail(f"{path}: {how.__name__} does not find {s.name}@{s.version}")
        out[s.name] = {"offset": s.value, "size": s.size, "version": s.version,
                       "bind": {1: "global", 2: "weak"}.get(s.bind, str(s.bind))}
    return soname, out


def toolchain(cc):
    def first_line(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True,
                                  check=True).stdout.splitlines()[0].strip()
        except (OSError, subprocess.CalledProcessError, IndexError):
            return None
    ld = subprocess.run([cc, "-print-prog-name=ld"], capture_output=True, text=True).stdout.strip()
    return {"cc": first_line([cc, "--version"]), "ld": first_line([ld or "ld", "--version"])}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cc", default="gcc")
    ap.add_argument("dbg")
    ap.add_argument("image")
    ap.add_argument("json")
    a = ap.parse_args()

    with open(a.image, "rb") as f:
        data = f.read()
    with open(a.dbg, "rb") as f:
        dbg = E.Elf(f.read())
    img = E.Elf(data)
    check_image(img, a.image)
    soname, syms = exports(img, a.image)
    arch = {E.EM_X86_64: "x86_64", E.EM_386: "i386"}.get(img.machine)
    if arch is None:
        fail(f"{a.image}: machine {img.machine}")
    full = dbg.symtab()
    for name, s in syms.items():
        if name not in full or full[name].value != s["offset"]:
            fail(f"{a.image}: {name} differs from the unstripped image")

    vvar = full.get("__vvar_page")
    if vvar is None:
        fail(f"{a.dbg}: no __vvar_page")
    vvar_offset = vvar.value - (1 << (8 * img.w)) if vvar.value >> (8 * img.w - 1) else vvar.value
    if vvar_offset != -PAGE:
        fail(f"{a.dbg}: __vvar_page at {vvar_offset}, want -{PAGE}")
    size = len(data)
    meta = {
        "arch": arch,
        "file": os.path.basename(a.image),
        "soname": soname,
        "size": size,
        "pages": (size + PAGE - 1) // PAGE,
        "sha256": hashlib.sha256(data).hexdigest(),
        "vvar_offset": vvar_offset,
        "symbols": syms,
        "linux_version_offset": full["linux_version_code"].value,
        "toolchain": toolchain(a.cc),
    }
    if arch == "i386":
        for n in SLOT_SYMBOLS:
            if n not in full:
                fail(f"{a.dbg}: no symbol {n}")
        slot = full["vsyscall_alt_slot"].value
        slot_size = full["vsyscall_alt_slot_end"].value - slot
        pad = full["int80_landing_pad"].value
        if data[pad - 2:pad] != b"\xcd\x80" or pad - 2 != slot + slot_size:
            fail(f"{a.image}: int $0x80 must sit between the slot and int80_landing_pad")
        alt = dbg.section(".sysgate_alt")
        gates = {"int80": data[slot:slot + slot_size].hex()}
        for g in GATES:
            lo = full[f"sysgate_alt_{g}"].value - alt.addr
            hi = full[f"sysgate_alt_{g}_end"].value - alt.addr
            seq = dbg.data[alt.offset + lo:alt.offset + hi]
            if len(seq) != slot_size:
                fail(f"{a.dbg}: the {g} sequence is {len(seq)} bytes, the slot {slot_size}")
            gates[g] = seq.hex()
        meta["vsyscall"] = {
            "entry": syms["__kernel_vsyscall"]["offset"],
            "alt_slot": slot,
            "alt_slot_size": slot_size,
            "int80": pad - 2,
            "landing_pad": pad,
            "gates": gates,
        }
    with open(a.json + ".tmp", "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(a.json + ".tmp", a.json)


if __name__ == "__main__":
    main()
