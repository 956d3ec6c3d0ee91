"""sysgate.cpu.ucfields reads two fields of Unicorn's engine struct by
position. On the pinned Unicorn both must be found (else the engine
silently keeps the slow per-access exit check), and each must be the
field it is taken for: the switch must drop the check (a store Unicorn
refuses then no longer stops the block) and invalid_addr must hold the
byte address of a store a TLB fill refused."""
import pytest
from unicorn import UC_ARCH_X86, UC_MODE_64, Uc, UcError
from unicorn import unicorn_const as UC
from unicorn import x86_const as X

from sysgate.cpu.ucfields import engine_fields

CODE = 0x1000
DATA = 0x10000
# nop; mov dword [DATA + 0x123], 1; mov eax, 42; nop
STORE_THEN_MOV = bytes.fromhex("90" "c70425" "23010100" "01000000" "b82a000000" "90")


def _engine(refuse_data_fill):
    uc = Uc(UC_ARCH_X86, UC_MODE_64)
    uc.ctl_set_tlb_mode(UC.UC_TLB_VIRTUAL)
    uc.mem_map(CODE, 0x1000)
    uc.mem_map(DATA, 0x1000, UC.UC_PROT_READ)

    def fill(uc, addr, access, entry, _):
        if addr == DATA and refuse_data_fill:
            return False
        # The data page's own rights (read-only, from mem_map) are then
        # Unicorn's to enforce, after the fill.
        entry.paddr, entry.perms = addr, UC.UC_PROT_ALL
        return True
    uc.hook_add(UC.UC_HOOK_TLB_FILL, fill)
    uc.mem_write(CODE, STORE_THEN_MOV)
    return uc


def test_fields_found_on_the_pinned_unicorn():
    fields = engine_fields(_engine(False))
    assert fields is not None
    no_exit, invalid_addr = fields
    assert no_exit.value is False


def test_refused_fill_gives_the_byte_address():
    uc = _engine(True)
    _, invalid_addr = engine_fields(uc)
    with pytest.raises(UcError) as e:
        uc.emu_start(CODE, CODE + len(STORE_THEN_MOV))
    assert e.value.errno == UC.UC_ERR_EXCEPTION
    assert invalid_addr.value == DATA + 0x123
    assert uc.reg_read(X.UC_X86_REG_RIP) == CODE + 1      # on the store
    assert uc.reg_read(X.UC_X86_REG_RAX) == 0


@pytest.mark.parametrize("checks", [True, False])
def test_switch_is_the_per_access_check(checks):
    """A store to a read-only page that the fill let through is refused by
    Unicorn, which only asks for a stop: with the check it stops on the
    store; without it the rest of the block (mov eax, 42) runs first."""
    uc = _engine(False)
    no_exit, _ = engine_fields(uc)
    no_exit.value = not checks
    with pytest.raises(UcError):
        uc.emu_start(CODE, CODE + len(STORE_THEN_MOV))
    assert (uc.reg_read(X.UC_X86_REG_RAX) == 42) is (not checks)
