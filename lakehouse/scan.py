"""Search every file a table keeps on storage for given text: the proof that an erasure reached every copy.

It reads the files themselves rather than asking the catalog what is live: data files (decoded
columns and the raw bytes, footer statistics included), manifests and manifest lists (Avro
blocks, decompressed) and metadata files (JSON, gzipped or not). A file the catalog forgot but the
storage still holds is searched too.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyarrow import fs
from pyiceberg.table import Table

AVRO_MAGIC = b"Obj\x01"


@dataclass
class ScanResult:
    """Which files of a table hold which of the searched texts (by index, so the texts are not repeated)."""

    table: str
    files_read: int = 0
    found: dict[str, list[int]] = field(default_factory=dict)  # file path -> indexes into the needles

    @property
    def clean(self) -> bool:
        return not self.found


def scan_table(table: Table, needles: Sequence[str]) -> ScanResult:
    """Read every file under the table's location and report where any needle occurs.

    Files are searched on a thread per core: reading and decoding Parquet and searching its columns
    release the GIL."""
    result = ScanResult(table=".".join(table.name()))
    filesystem, root = fs.FileSystem.from_uri(table.location())
    encoded = [n.encode() for n in needles]
    files = filesystem.get_file_info(fs.FileSelector(root, recursive=True, allow_not_found=True))
    paths = [info.path for info in files if info.type == fs.FileType.File]

    def search(path: str) -> list[int]:
        with filesystem.open_input_file(path) as handle:
            return _found_in(path, handle.read(), needles, encoded)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="c360-scan") as pool:
        for path, hits in zip(paths, pool.map(search, paths), strict=True):
            result.files_read += 1
            if hits:
                result.found[path] = hits
    return result


def _found_in(path: str, raw: bytes, needles: Sequence[str], encoded: Sequence[bytes]) -> list[int]:
    """Indexes of the needles in one file's bytes, decoded by its format."""
    texts = [raw]
    if path.endswith(".parquet"):
        return sorted(set(_in_bytes(raw, encoded)) | set(_in_parquet(raw, needles)))
    if raw.startswith(AVRO_MAGIC):
        texts = list(avro_blocks(raw))
    elif path.endswith(".gz") or raw.startswith(b"\x1f\x8b"):
        texts = [gzip.decompress(raw)]
    return sorted({i for text in texts for i in _in_bytes(text, encoded)})


# A match must stand alone: `ann@example.com` is not in `joann@example.com`, nor `dev-42` in `dev-420`.
CONTINUES_BEFORE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
CONTINUES_AFTER = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def occurs(data: bytes, needle: bytes) -> bool:
    """The needle occurs in `data` as a whole value, not as part of a longer one.

    Before it may stand an Avro string's length (a zig-zag varint byte, which can be any character),
    so a string that is exactly the needle always counts.
    """
    own_length = len(needle) * 2 if len(needle) < 64 else None
    start = data.find(needle)
    while start >= 0:
        end = start + len(needle)
        before = data[start - 1] if start else None
        after = data[end] if end < len(data) else None
        if (before is None or before not in CONTINUES_BEFORE or before == own_length) and (
            after is None or after not in CONTINUES_AFTER
        ):
            return True
        start = data.find(needle, start + 1)
    return False


def _in_bytes(data: bytes, encoded: Sequence[bytes]) -> list[int]:
    return [i for i, needle in enumerate(encoded) if occurs(data, needle)]


def _in_parquet(raw: bytes, needles: Sequence[str]) -> list[int]:
    """Needles found in any text column of a Parquet file, once its pages are decompressed.

    Only text columns are read; the few values containing a needle are then checked to hold it
    as a whole value. (One regular expression of every needle took twice as long as a substring
    pass per needle.)
    """
    buffer = pa.BufferReader(raw)
    text = [f.name for f in pq.read_schema(buffer) if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    if not text or not needles:
        return []
    rows = pq.read_table(pa.BufferReader(raw), columns=text)
    hits: set[int] = set()
    for column in rows.columns:
        for i, needle in enumerate(needles):
            if i in hits:
                continue
            candidates = column.filter(pc.match_substring(column, needle)).to_pylist()
            if any(occurs(value.encode(), needle.encode()) for value in candidates):
                hits.add(i)
    return sorted(hits)


def avro_blocks(raw: bytes) -> Iterator[bytes]:
    """The decompressed data blocks of an Avro object container file (null or deflate codec)."""
    position = len(AVRO_MAGIC)
    metadata: dict[bytes, bytes] = {}
    while True:  # header metadata: a map in blocks of (count, entries), ended by a zero count
        count, position = _long(raw, position)
        if count == 0:
            break
        if count < 0:
            _, position = _long(raw, position)  # block size in bytes, unused
            count = -count
        for _ in range(count):
            key, position = _bytes(raw, position)
            value, position = _bytes(raw, position)
            metadata[key] = value
    yield raw[:position]  # the header: schema and metadata
    codec = metadata.get(b"avro.codec", b"null")
    if codec not in (b"null", b"deflate"):
        raise ValueError(f"cannot search Avro blocks compressed with {codec.decode()}")
    position += 16  # sync marker
    while position < len(raw):
        _, position = _long(raw, position)  # objects in the block
        size, position = _long(raw, position)
        block = raw[position : position + size]
        position += size + 16
        yield zlib.decompress(block, -15) if codec == b"deflate" else block


def _long(raw: bytes, position: int) -> tuple[int, int]:
    """An Avro zig-zag varint at `position`, and the position after it."""
    shift, value = 0, 0
    while True:
        byte = raw[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (value >> 1) ^ -(value & 1), position
        shift += 7


def _bytes(raw: bytes, position: int) -> tuple[bytes, int]:
    size, position = _long(raw, position)
    return raw[position : position + size], position + size
