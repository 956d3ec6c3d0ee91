"""The initial process stack, laid out as Linux's exec does (fs/exec.c,
fs/binfmt_elf.c create_elf_tables): strings at the top (the exec file name
highest, then environment and argument strings), then the platform string
and AT_RANDOM bytes, then a 16-byte aligned block of argc, argv[], NULL,
envp[], NULL and the auxiliary vector."""
import struct

AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE = 0, 3, 4, 5, 6, 7
AT_FLAGS, AT_ENTRY, AT_UID, AT_EUID, AT_GID, AT_EGID = 8, 9, 11, 12, 13, 14
AT_PLATFORM, AT_HWCAP, AT_CLKTCK, AT_SECURE = 15, 16, 17, 23
AT_RANDOM, AT_HWCAP2, AT_EXECFN = 25, 26, 31
AT_SYSINFO, AT_SYSINFO_EHDR, AT_MINSIGSTKSZ = 32, 33, 51

AUX_NAMES = {v: k for k, v in globals().items() if k.startswith("AT_")}


def build(top, argv, envp, auxv, execfn, platform, random16, is64):
    """Return (sp, image, addresses) where image is the bytes from sp to top.

    auxv is a list of (type, value); the values of AT_RANDOM, AT_PLATFORM
    and AT_EXECFN are filled in here, because only here are their
    addresses known. addresses maps 'argv', 'envp', 'auxv' to where they lie.
    """
    word, fmt = (8, "<Q") if is64 else (4, "<I")
    blob = bytearray()

    def put_str(b):
        blob[:0] = b + b"\0"          # grows down: prepend
        return len(blob)              # distance of its start below top

    execfn_off = put_str(execfn)
    env_offs = [put_str(e) for e in reversed(envp)][::-1]
    arg_offs = [put_str(a) for a in reversed(argv)][::-1]
    # Leave one word of zeros at the very top, as Linux does.
    strings_top = top - word
    plat_off = put_str(platform)
    blob[:0] = random16
    rand_off = len(blob)

    def addr(off):
        return strings_top - off

    filled = []
    for k, v in auxv:
        if k == AT_RANDOM:
            v = addr(rand_off)
        elif k == AT_PLATFORM:
            v = addr(plat_off)
        elif k == AT_EXECFN:
            v = addr(execfn_off)
        filled.append((k, v))
    filled.append((AT_NULL, 0))
    table = [len(argv)] + [addr(o) for o in arg_offs] + [0] + \
            [addr(o) for o in env_offs] + [0]
    for k, v in filled:
        table += [k, v]
    table_bytes = b"".join(struct.pack(fmt, x) for x in table)
    sp = (strings_top - len(blob) - len(table_bytes)) & ~0xF
    image = bytearray(top - sp)
    image[:len(table_bytes)] = table_bytes
    image[strings_top - len(blob) - sp:strings_top - sp] = blob
    argv_at = sp + word
    envp_at = argv_at + word * (len(argv) + 1)
    auxv_at = envp_at + word * (len(envp) + 1)
    return sp, bytes(image), {"argv": argv_at, "envp": envp_at, "auxv": auxv_at,
                              "auxv_items": filled}

