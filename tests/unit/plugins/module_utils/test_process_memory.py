"""The allocator settings a dump makes: applied on glibc, a no-op elsewhere."""

from __future__ import annotations

import platform

from ansible_collections.offsite.mongodb.plugins.module_utils import process_memory


def test_the_heap_settings_take_effect_on_glibc_and_nowhere_else():
    assert process_memory.limit_heap_retention() is (platform.libc_ver()[0] == "glibc")


def test_without_a_c_library_nothing_changes(monkeypatch):
    def missing(_name):
        raise OSError("no libc here")

    monkeypatch.setattr(process_memory.ctypes, "CDLL", missing)
    assert process_memory.limit_heap_retention() is False
