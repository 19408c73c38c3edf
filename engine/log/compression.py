"""Compress and decompress the records section of a batch, for the few places that must.

Batches pass through produce and fetch as the producer built them, except where Kafka too
rewrites them: a topic whose compression.type names a codec (recompression.py, at the
topic's compression.<codec>.level), the log cleaner, and ListOffsets-by-timestamp, which
may read the records of one batch (records.py); tests build compressed batches. gzip comes with
Python; lz4 (`lz4`), zstd (`zstandard`) and snappy (`cramjam` or `python-snappy`) are
used when installed, and `CodecUnavailable` says which is missing otherwise.

Kafka's formats: gzip stream; LZ4 frame; zstd frame (content size may be absent);
snappy either raw or in xerial's block framing (what the Java producer writes).
"""

from __future__ import annotations

import struct
import zlib

__all__ = ["CodecUnavailable", "DecompressedTooLarge", "compress", "decompress", "available"]

NONE, GZIP, SNAPPY, LZ4, ZSTD = 0, 1, 2, 3, 4
_XERIAL_MAGIC = b"\x82SNAPPY\x00"


class CodecUnavailable(RuntimeError):
    """The codec's Python library is not installed."""


def _lz4():
    try:
        import lz4.frame as lz4_frame
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise CodecUnavailable("lz4 needs the 'lz4' package") from exc
    return lz4_frame


def _zstd():
    try:
        import zstandard
    except ImportError as exc:  # pragma: no cover
        raise CodecUnavailable("zstd needs the 'zstandard' package") from exc
    return zstandard


def _snappy():
    """(compress_raw, decompress_raw) from cramjam or python-snappy."""
    try:
        import cramjam

        return (
            lambda b: bytes(cramjam.snappy.compress_raw(b)),
            lambda b: bytes(cramjam.snappy.decompress_raw(b)),
        )
    except ImportError:
        pass
    try:
        import snappy

        return snappy.compress, snappy.decompress
    except ImportError as exc:
        raise CodecUnavailable("snappy needs 'cramjam' or 'python-snappy'") from exc


def available(codec: int) -> bool:
    try:
        if codec == LZ4:
            _lz4()
        elif codec == ZSTD:
            _zstd()
        elif codec == SNAPPY:
            _snappy()
        return codec in (NONE, GZIP, SNAPPY, LZ4, ZSTD)
    except CodecUnavailable:
        return False


class DecompressedTooLarge(ValueError):
    """A records section inflates past the limit it was given."""


def decompress(codec: int, data, limit: int) -> bytes:
    """`data` inflated; DecompressedTooLarge once the output would pass `limit` bytes (read
    incrementally, so a bomb costs `limit` bytes at most)."""
    if codec == NONE:
        return bytes(data)
    if codec == GZIP:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = d.decompress(data, limit + 1)
        if len(out) > limit:
            raise DecompressedTooLarge(f"gzip records inflate past {limit} bytes")
        if not d.eof:
            raise zlib.error("incomplete or truncated gzip stream")
        return out
    if codec == LZ4:
        d = _lz4().LZ4FrameDecompressor()
        out = d.decompress(bytes(data), max_length=limit + 1)
        if len(out) > limit:
            raise DecompressedTooLarge(f"lz4 records inflate past {limit} bytes")
        if not d.eof:
            raise ValueError("incomplete or truncated lz4 frame")
        return out
    if codec == ZSTD:
        # Streaming: Kafka's producers may leave the frame's content size out.
        chunks, total = [], 0
        with _zstd().ZstdDecompressor().stream_reader(bytes(data), read_across_frames=True) as reader:
            while chunk := reader.read(1 << 20):
                total += len(chunk)
                if total > limit:
                    raise DecompressedTooLarge(f"zstd records inflate past {limit} bytes")
                chunks.append(chunk)
        return b"".join(chunks)
    if codec == SNAPPY:
        raw = _snappy()[1]
        data = bytes(data)
        if not data.startswith(_XERIAL_MAGIC):
            _check_snappy_size(data, limit)
            return raw(data)
        out = []
        total = 0
        pos = 16  # magic (8) + version (4) + compatible version (4)
        while pos + 4 <= len(data):
            (size,) = struct.unpack_from(">i", data, pos)
            pos += 4
            block = data[pos : pos + size]
            total += _check_snappy_size(block, limit - total)
            out.append(raw(block))
            pos += size
        return b"".join(out)
    raise ValueError(f"unknown compression codec {codec}")


def _check_snappy_size(block: bytes, limit: int) -> int:
    """The inflated size a raw snappy block announces in its leading varint, within `limit`."""
    size = shift = pos = 0
    while pos < len(block) and pos < 5:
        b = block[pos]
        size |= (b & 0x7F) << shift
        pos += 1
        if not b & 0x80:
            break
        shift += 7
    if size > limit:
        raise DecompressedTooLarge(f"snappy records inflate past {limit} bytes")
    return size


LZ4_DEFAULT_LEVEL = 9


def compress(codec: int, data: bytes, level: int | None = None) -> bytes:
    """`data` in `codec`; `level` is the topic's compression.<codec>.level (Kafka's ranges: gzip
    1..9 or -1 for zlib's default, lz4 1..17, zstd -131072..22), None for the codec's default."""
    if codec == NONE:
        return data
    if codec == GZIP:
        c = zlib.compressobj(-1 if level is None else level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        return c.compress(data) + c.flush()
    if codec == LZ4:
        if level is None or level == LZ4_DEFAULT_LEVEL:
            return _lz4().compress(data)
        # Kafka: its default level means lz4's fast compressor, any other level LZ4HC at that
        # level (the frame library's HC levels are 3..16)
        return _lz4().compress(data, compression_level=max(3, min(level, 16)))
    if codec == ZSTD:
        return _zstd().ZstdCompressor(level=3 if level is None else level).compress(data)
    if codec == SNAPPY:
        return _snappy()[0](data)
    raise ValueError(f"unknown compression codec {codec}")
