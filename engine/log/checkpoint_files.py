"""Small per-partition state files holding one number: written atomically, read forgivingly.

`log-start-offset` (where DeleteRecords or retention moved the start; Kafka keeps the
same fact per log dir in log-start-offset-checkpoint) and `recovery-point` (everything
before this offset was fsynced; recovery after a crash starts from the segment holding
it), and `cleaner-offset-checkpoint` (where the log cleaner's dirty part starts; Kafka
keeps it per log dir). A file that is missing or unreadable reads as None and the caller falls back to
what the segments say.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "read_offset",
    "write_offset",
    "LOG_START_OFFSET_FILE",
    "RECOVERY_POINT_FILE",
    "CLEAN_SHUTDOWN_FILE",
    "CLEANER_CHECKPOINT_FILE",
]

LOG_START_OFFSET_FILE = "log-start-offset"
RECOVERY_POINT_FILE = "recovery-point"
CLEAN_SHUTDOWN_FILE = "clean-shutdown"
CLEANER_CHECKPOINT_FILE = "cleaner-offset-checkpoint"


def read_offset(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def write_offset(path: Path, value: int, *, fsync: bool = True) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(f"{value}\n")
        if fsync:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)
