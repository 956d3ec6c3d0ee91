"""prctl's securebits are the guest process's own (its host process's
credentials), as its other credentials are."""
import os
import shutil

import pytest

from conftest import ALL, ROOT, build, run_native, run_sysgate


@pytest.mark.parametrize("nocaps", [False, True])
@pytest.mark.parametrize("variant", ALL)
def test_securebits(variant, nocaps):
    exe = build("securebits.c", variant)
    if nocaps:
        if os.geteuid() != 0 or shutil.which("setpriv") is None:
            pytest.skip("needs root and setpriv to drop the capabilities")
        import subprocess, sys
        pre = ["setpriv", "--bounding-set=-all", "--"]
        native = subprocess.run(pre + [exe], capture_output=True)
        emu = subprocess.run(pre + [sys.executable, "-m", "sysgate", "run", exe],
                             capture_output=True, env=dict(os.environ, PYTHONPATH=ROOT))
        assert native.returncode == emu.returncode == 0
        assert emu.stdout == native.stdout and b"errno 1" in native.stdout
        return
    native, emu = run_native(exe), run_sysgate(exe)
    assert native.status == emu.status == 0
    assert emu.stdout == native.stdout
