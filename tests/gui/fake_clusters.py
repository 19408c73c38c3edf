"""A picklable client factory for bridge and window tests: the builder process makes the client.

The test and the fake talk through files in a directory, since they live in different processes:
the fake writes `calls` (one line, its pid, per refresh) and `closed`; the test steers it with
`hang` (refreshes wait while it exists), `fail` (refreshes raise its text) and `crash` (the next
refresh ends the builder process with exit code 3).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from partita.gui.domain.snapshot import Partition

from .factories import group, snapshot


@dataclass(frozen=True)
class FakeCluster:
    directory: str
    bootstrap: str = "h:1"
    partitions: int = 0  # 0: the factories' three partitions

    def __call__(self) -> FakeClient:
        return FakeClient(self)


class FakeClient:
    def __init__(self, spec: FakeCluster) -> None:
        self.spec = spec
        self.dir = Path(spec.directory)

    def snapshot(self):
        with open(self.dir / "calls", "a") as f:
            f.write(f"{os.getpid()}\n")
        deadline = time.monotonic() + 30
        while (self.dir / "hang").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        crash = self.dir / "crash"
        if crash.exists():
            crash.unlink()
            os._exit(3)
        fail = self.dir / "fail"
        if fail.exists():
            raise ConnectionError(fail.read_text())
        parts = None
        if self.spec.partitions:
            parts = [
                Partition(f"t{i % 7}", i, 1 + i % 3, (1, 2, 3), (1, 2, 3), start_offset=0, end_offset=(i * 7919) % 1000)
                for i in range(self.spec.partitions)
            ]
        return replace(snapshot(taken_at=time.time(), partitions=parts, groups=[group()]), bootstrap=self.spec.bootstrap)

    def close(self) -> None:
        (self.dir / "closed").write_text(str(os.getpid()))


def calls(directory) -> list[int]:
    """The pids that served each refresh so far."""
    path = Path(directory) / "calls"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def process_alive(pid: int) -> bool:
    """True while `pid` exists, zombies included (a builder not joined is a leak too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
