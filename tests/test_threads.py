"""Threads (clone with CLONE_THREAD): pthreads on glibc x86-64, i386 and
musl, compared with the real kernel; --seed determinism; trace -f."""
import os
import re
import subprocess
import sys

import pytest

from conftest import ALL, ROOT, assert_same, build, run_sysgate


@pytest.mark.parametrize("cpu", ["intel", "amd"])
@pytest.mark.parametrize("variant", ALL)
def test_thread_basic(variant, cpu):
    native, _ = assert_same(build("thread_basic.c", variant), opts=["--cpu", cpu])
    assert b"total 20000" in native.stdout
    assert b"ping-pong rounds 200" in native.stdout


@pytest.mark.parametrize("variant", ALL)
def test_thread_signals(variant):
    native, _ = assert_same(build("thread_signals.c", variant))
    assert native.stdout.count(b": 1\n") == 2


@pytest.mark.parametrize("mode,status", [("fault", 139), ("exit", 3), ("pthread_exit", 0)])
@pytest.mark.parametrize("variant", ALL)
def test_thread_end(variant, mode, status):
    native, _ = assert_same(build("thread_end.c", variant), [mode])
    assert native.status == status
