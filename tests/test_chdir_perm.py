"""chdir and fchdir refuse a directory without search permission (EACCES),
as set_fs_pwd's permission check does."""
import os

import pytest

from conftest import ALL, assert_same, build


@pytest.mark.parametrize("variant", ALL)
def test_chdir_perm(variant, tmp_path):
    os.chmod(tmp_path, 0o777)
    native, _ = assert_same(build("chdir_perm.c", variant), cwd=tmp_path)
    assert b"fchdir noexec -1 errno 13\nchdir noexec -1 errno 13\n" in native.stdout
