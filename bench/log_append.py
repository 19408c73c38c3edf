"""Micro-benchmark of the partition log's hot path: append_as_leader and read.

    .venv/bin/python bench/log_append.py [--dir PATH] [--mb 512]

For 1 MB and 16 KB batches: append `--mb` megabytes through PartitionLog.append_as_leader
(validation, CRC32C, offset patch, pwrite, indexing; segments of 1 GiB, no fsync per
append), then read everything back sequentially with 1 MB fetches (and 16 KB fetches for
the small batches). Figures are MB/s of batch bytes and microseconds per call; the data
sits in the page cache, so this measures the Python work and the copies, not the disk.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from partita.engine.log import LogConfig, PartitionLog
from partita.engine.log.batch import iter_batches
from partita.engine.log.records import build_batch

MB = 1024 * 1024


def make_batch(size: int, record_size: int = 1024) -> bytes:
    now = int(time.time() * 1000)
    count = max(1, (size - 61) // (record_size + 16))
    value = b"x" * record_size
    return build_batch([(now, None, value)] * count)


def bench(directory: Path, batch_size: int, total_mb: int, fetch_sizes: list[int]) -> None:
    data = make_batch(batch_size)
    n = max(1, total_mb * MB // len(data))
    plog = PartitionLog.open(directory / f"bench-{batch_size}", LogConfig())
    now = int(time.time() * 1000)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        plog.append_as_leader(data, 0, now)
    t_append, c_append = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    plog.flush()
    t_flush = time.perf_counter() - t0
    total = n * len(data)
    print(
        f"batch {len(data) / 1024:6.1f} KB  append: {total / MB / t_append:6.0f} MB/s"
        f" {t_append / n * 1e6:7.1f} us/append  (CPU {total / MB / c_append:6.0f} MB/s)"
        f"  [{n} appends, {total / MB:.0f} MB; flush {t_flush * 1000:.0f} ms]"
    )
    for fetch in fetch_sizes:
        offset, reads, got = 0, 0, 0
        end = plog.log_end_offset
        t0, c0 = time.perf_counter(), time.process_time()
        while offset < end:
            result = plog.read(offset, fetch)
            reads += 1
            got += len(result.records)
            offset = _last_next_offset(result.records)
        t_read, c_read = time.perf_counter() - t0, time.process_time() - c0
        print(
            f"{'':18s}read {fetch // 1024:4d} KB: {got / MB / t_read:6.0f} MB/s"
            f" {t_read / reads * 1e6:7.1f} us/read    (CPU {got / MB / c_read:6.0f} MB/s)  [{reads} reads]"
        )
    plog.close()


def _last_next_offset(records: bytes) -> int:
    last = None
    for _, h in iter_batches(records):
        last = h
    return last.next_offset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, help="where to write (default: a temp dir, removed afterwards)")
    parser.add_argument("--mb", type=int, default=512, help="megabytes to append per batch size")
    args = parser.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="partita-log-bench-"))
    try:
        bench(base, 1 * MB, args.mb, [1 * MB])
        bench(base, 16 * 1024, args.mb, [1 * MB, 16 * 1024])
    finally:
        if args.dir is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
