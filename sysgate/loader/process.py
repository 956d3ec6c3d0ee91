"""A new process image, as load_elf_binary assembles it from
setup_arg_pages on: the program's segments and its interpreter's, brk,
the stack mapping, the vDSO, the auxiliary vector and the initial stack.

Data in, data out: the parsed images, the layout and what the auxiliary
vector reports go in; the mappings go into the address space given, and
the entry point, stack pointer, vDSO and auxv bytes come back. Failures
are Fatal (past execve's point of no return)."""
from ..abi.consts import PROT_EXEC, PROT_READ, PROT_WRITE
from . import stack
from .elf import Record
from .image import STACK_SIZE, Limits, Loader, load_interp, load_program, page_up
from .vdso import map_vdso


class Identity(Record):
    """What the auxiliary vector tells of the process and its CPU."""
    __slots__ = ("uid", "euid", "gid", "egid", "hwcap")

    def __init__(self, uid, euid, gid, egid, hwcap):
        self.uid, self.euid, self.gid, self.egid, self.hwcap = uid, euid, gid, egid, hwcap


class Assembled(Record):
    __slots__ = ("entry", "sp", "vdso", "auxv_bytes")

    def __init__(self, entry, sp, vdso, auxv_bytes):
        self.entry, self.sp = entry, sp
        self.vdso = vdso                # loader.vdso.MappedVdso, or None without a vDSO
        self.auxv_bytes = auxv_bytes    # /proc/<pid>/auxv


def assemble(mm, img, exe_file, interp, layout, execfn, argv, envp, ident, random16,
             vdso_gate=None, use_vdso=True, interp_at=0):
    """Map img (and interp: (image, its ExecFile) for a dynamic program)
    into mm as layout says and build the initial stack. vdso_gate: the
    32-bit gate __kernel_vsyscall is patched for; interp_at: where to put
    the interpreter if that place is free (kernel.keepinterp)."""
    loader = Loader(mm, Limits.host(img.is64), img.read_implies_exec)
    mm.read_implies_exec = loader.rie
    loaded = load_program(loader, img, exe_file, layout, interp is not None)
    entry, interp_base = loaded.entry, 0
    if interp is not None:
        iimg, ifile = interp
        interp_base = load_interp(loader, iimg, ifile, loaded.bias, interp_at)
        entry = (interp_base + iimg.entry) & ((1 << 64) - 1)
    loader.check_start(entry, layout.stack_top)
    # A loader run directly has its brk moved out of the mmap area.
    brk = layout.load_bias if img.pie and interp is None else page_up(loaded.brk)
    mm.brk_start = mm.brk_cur = brk + layout.brk_offset
    exec_stack = img.exec_stack or (img.exec_stack is None and loader.rie)
    stack_prot = PROT_READ | PROT_WRITE | (PROT_EXEC if exec_stack else 0)
    mm.map(layout.stack_top - STACK_SIZE, STACK_SIZE, stack_prot, name="[stack]")
    vdso = map_vdso(mm, img.is64, vdso_gate) if use_vdso else None
    auxv = [(k, v & ((1 << (64 if img.is64 else 32)) - 1))      # elf_addr_t
            for k, v in auxv_items(img, loaded, interp_base, vdso, ident)]
    sp, image, where = stack.build(
        layout.stack_top - layout.sp_offset, argv, envp, auxv,
        execfn=execfn, platform=b"x86_64" if img.is64 else b"i686",
        random16=random16, is64=img.is64)
    mm.write_kernel(sp, image)
    word = 8 if img.is64 else 4
    auxv_bytes = b"".join(k.to_bytes(word, "little") + v.to_bytes(word, "little")
                          for k, v in where["auxv_items"])
    return Assembled(entry, sp, vdso, auxv_bytes)


def auxv_items(img, plan, interp_base, vdso, ident):
    A = stack
    items = []
    if vdso is not None:
        if not img.is64:
            items.append((A.AT_SYSINFO, vdso.vsyscall))
        items.append((A.AT_SYSINFO_EHDR, vdso.base))
    return items + [
        (A.AT_MINSIGSTKSZ, 2048), (A.AT_HWCAP, ident.hwcap), (A.AT_PAGESZ, 4096),
        (A.AT_CLKTCK, 100), (A.AT_PHDR, plan.phdr),
        (A.AT_PHENT, img.phentsize), (A.AT_PHNUM, img.phnum), (A.AT_BASE, interp_base),
        (A.AT_FLAGS, 0), (A.AT_ENTRY, plan.entry), (A.AT_UID, ident.uid),
        (A.AT_EUID, ident.euid), (A.AT_GID, ident.gid), (A.AT_EGID, ident.egid),
        (A.AT_SECURE, 0), (A.AT_RANDOM, 0), (A.AT_HWCAP2, 0), (A.AT_EXECFN, 0),
        (A.AT_PLATFORM, 0),
    ]
