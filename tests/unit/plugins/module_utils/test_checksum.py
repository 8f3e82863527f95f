"""CRC-64/XZ: the spec's check value, incremental use, signed storage and the pure-Python fallback."""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings

import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils import checksum

SPEC_VECTOR = b"123456789"


def test_fastcrc_is_the_backend_and_gives_the_spec_check_value():
    assert checksum.BACKEND == "fastcrc"
    assert checksum.FALLBACK_WARNING is None
    assert checksum.crc64(SPEC_VECTOR) == checksum.CHECK_VALUE == 0x995DC9BBDF1939FA
    assert checksum.crc64(b"") == 0


def test_python_table_gives_the_same_values_as_fastcrc():
    assert checksum.crc64_python(SPEC_VECTOR) == 0x995DC9BBDF1939FA
    data = os.urandom(4096)
    assert checksum.crc64_python(data) == checksum.crc64_fast(data)


@pytest.mark.parametrize("impl", [checksum.crc64_fast, checksum.crc64_python])
def test_feeding_in_pieces_equals_one_call(impl):
    data = os.urandom(10_000)
    crc = 0
    for start in range(0, len(data), 777):
        crc = impl(data[start : start + 777], crc)
    assert crc == impl(data)


def test_signed_storage_round_trips():
    assert checksum.to_signed(0xF685812FD02A263E) == -682997726120892866  # spec section 2.11
    assert checksum.to_unsigned(-682997726120892866) == 0xF685812FD02A263E
    assert checksum.to_signed(5) == 5


def test_without_fastcrc_the_fallback_is_used_and_warns(monkeypatch):
    monkeypatch.setitem(sys.modules, "fastcrc", None)  # makes "from fastcrc import ..." fail
    spec = importlib.util.spec_from_file_location("checksum_without_fastcrc", checksum.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module.warn_if_slow()
    assert module.BACKEND == "python"
    assert "pip install fastcrc" in module.FALLBACK_WARNING
    assert any("fastcrc" in str(item.message) for item in caught)
    assert module.crc64(SPEC_VECTOR) == 0x995DC9BBDF1939FA
