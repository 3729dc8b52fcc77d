"""What counts as an erased value still being in a file: the whole value, never a part of another one."""

from __future__ import annotations

import zlib

import pytest

from lakehouse.scan import avro_blocks, occurs


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (b'{"email": "ann@example.com"}', True),
        (b"ann@example.com", True),
        (b'{"email": "joann@example.com"}', False),
        (b'{"email": "ann@example.com.au"}', False),
        (b"x ann@example.com, joann@example.com", True),
        (bytes([30]) + b"ann@example.com", True),  # an Avro string of exactly the value (length 15 -> byte 30)
    ],
)
def test_a_value_counts_only_standing_alone(data: bytes, found: bool) -> None:
    assert occurs(data, b"ann@example.com") is found


def test_a_longer_value_after_its_own_avro_length_byte_counts() -> None:
    needle = b"a-customer-with-a-33-char-e@x.com"
    assert len(needle) == 33 and occurs(b"B" + needle, needle), "66 is 'B': the length byte looks like a letter"
    assert not occurs(b"C" + needle, needle)


def test_deflatedavro_blocks_are_read_back() -> None:
    def long(n: int) -> bytes:
        zigzag, out = (n << 1) ^ (n >> 63), b""
        while True:
            byte, zigzag = zigzag & 0x7F, zigzag >> 7
            out += bytes([byte | (0x80 if zigzag else 0)])
            if not zigzag:
                return out

    sync = b"S" * 16
    header = b"Obj\x01" + long(1) + long(10) + b"avro.codec" + long(7) + b"deflate" + long(0) + sync
    compressor = zlib.compressobj(wbits=-15)
    block = compressor.compress(b"secret@example.com") + compressor.flush()
    data = header + long(1) + long(len(block)) + block + sync
    assert b"secret@example.com" in b"".join(avro_blocks(data))
    assert b"secret@example.com" not in data, "compressed, the value is not visible in the raw bytes"
