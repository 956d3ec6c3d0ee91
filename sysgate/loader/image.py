"""Where an ELF image goes: the address-space layout of a new process and the
mappings of its segments, computed as Linux's load_elf_binary computes them.
Pure data: no CPU, no address space object."""
from dataclasses import dataclass, field

from .elf import ElfError

PAGE = 0x1000
STACK_SIZE = 8 << 20          # RLIMIT_STACK's usual 8 MiB
MIN_GAP = 128 << 20           # mmap_base stays this far below the stack


def page_down(x):
    return x & ~(PAGE - 1)


def page_up(x):
    return (x + PAGE - 1) & ~(PAGE - 1)


@dataclass
class Layout:
    """Randomised (or seeded) bases of a new process, as arch/x86/mm/mmap.c."""
    task_size: int
    stack_top: int
    mmap_base: int
    load_bias: int
    brk_offset: int
    sp_offset: int


def choose_layout(is64, pie, rng, randomise=True):
    task_size = (1 << 47) - PAGE if is64 else 0xFFFFE000
    r = (lambda bits: rng.getrandbits(bits)) if randomise else (lambda bits: 0)
    # 64-bit: 22 bits of pages of stack randomisation and 28 of mmap; 32-bit:
    # 11 and 8 (STACK_RND_MASK, mmap_rnd_bits / mmap_rnd_compat_bits).
    stack_top = page_down(task_size - (r(22 if is64 else 11) << 12))
    mmap_base = page_down(task_size - MIN_GAP - (r(28 if is64 else 8) << 12))
    et_dyn_base = 0x555555554000 if is64 else 0x56555000
    load_bias = et_dyn_base + (r(28 if is64 else 8) << 12) if pie else 0
    return Layout(task_size, stack_top, mmap_base, load_bias,
                  brk_offset=(r(13) << 12), sp_offset=r(13) & ~0xF)


@dataclass
class Mapping:
    start: int
    size: int
    prot: int
    data: bytes
    file_offset: int = 0


@dataclass
class Plan:
    mappings: list = field(default_factory=list)
    entry: int = 0
    phdr: int = 0
    brk: int = 0
    bias: int = 0


def plan_segments(img, data, bias):
    """The mappings of img's PT_LOAD segments placed at bias."""
    plan = Plan(entry=img.entry + bias, phdr=(img.phdr_vaddr or 0) + bias, bias=bias)
    end = 0
    for s in img.segments:
        if s.vaddr & (PAGE - 1) != s.offset & (PAGE - 1):
            raise ElfError("segment not congruent to its file offset modulo the page size")
        start = page_down(s.vaddr + bias)
        file_start = page_down(s.offset)
        file_end = s.offset + s.filesz
        if s.memsz > s.filesz:
            content = data[file_start:file_end]        # bss: zero after filesz
        else:
            content = data[file_start:page_up(file_end)]
        size = page_up(s.vaddr + bias + s.memsz) - start
        plan.mappings.append(Mapping(start, size, s.prot, content, file_start))
        end = max(end, s.vaddr + bias + s.memsz)
    plan.brk = page_up(end)
    return plan
