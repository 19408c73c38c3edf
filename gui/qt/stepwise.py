"""Work the GUI thread does a few milliseconds per event-loop turn: unpickling a refresh's
frames, and freeing the tables it replaced.

Both are about a million objects per refresh at 50,000 partitions. Done on another thread of the
GUI process, they would hold the GIL in many short stretches, and on a busy machine the OS
preempts such a thread in the middle of one: the GUI thread then waits for the GIL until that
thread gets a core back (measured: 30–60 ms stalls with almost no GUI-thread CPU in them). Done
here, in steps of STEP_BUDGET_S, they cost a little GUI-thread time per turn and never a wait.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from partita.gui.services.builder_process import Received
from partita.gui.services.reaper import Dismantler
from partita.gui.services.slices import Assembler

from .bindings import QCoreApplication, QObject, QTimer, Signal

STEP_BUDGET_S = 0.003  # one slice's loads is about 1–3 ms, so a turn stays under ~6 ms


@dataclass(frozen=True)
class TransferStats:
    """How one refresh's results came over (for the scale bench)."""

    frames: int
    bytes: int
    requested_at: float  # time.perf_counter() when the refresh was asked for
    first_frame_at: float  # … when its first frame arrived (the builder had finished building)
    received_at: float  # … when the last one had
    assembled_at: float  # … when the GUI thread had unpickled them all
    unpickle_seconds: float  # GUI-thread CPU spent unpickling
    longest_unpickle_ms: float  # the longest single frame
    turns: int  # event-loop turns it took


class StepwiseAssembler(QObject):
    """Turns one refresh's frames back into its ViewData on the GUI thread, STEP_BUDGET_S per turn."""

    assembled = Signal(object, object)  # ViewData, TransferStats

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._step)
        self._assembler = Assembler()
        self._received: Received | None = None
        self._frames: list[bytes] = []
        self._cpu = self._longest = 0.0
        self._turns = 0

    @property
    def busy(self) -> bool:
        return self._received is not None

    def start(self, received: Received) -> None:
        """Assemble `received`; a refresh still being assembled is dropped (this one is newer)."""
        self.cancel()
        self._received = received
        self._frames = list(reversed(received.frames))  # popped from the end, freed as we go
        self._cpu = self._longest = 0.0
        self._turns = 0
        self._timer.start()

    def cancel(self) -> None:
        self._timer.stop()
        self._received = None
        self._frames = []
        dispose(self._assembler.reset())

    def _step(self) -> None:
        received = self._received
        if received is None:
            self._timer.stop()
            return
        self._turns += 1
        deadline = time.perf_counter() + STEP_BUDGET_S
        frames = self._frames
        while frames:
            frame = frames.pop()
            t = time.thread_time()
            result = self._assembler.feed(frame)
            held = time.thread_time() - t
            self._cpu += held
            self._longest = max(self._longest, held)
            del frame
            if result is not None:
                self._timer.stop()
                self._received = None
                stats = TransferStats(
                    len(received.frames),
                    received.size,
                    received.requested_at,
                    received.first_frame_at,
                    received.received_at,
                    time.perf_counter(),
                    self._cpu,
                    self._longest * 1000,
                    self._turns,
                )
                self.assembled.emit(result, stats)
                return
            if time.perf_counter() >= deadline:
                return


class StepwiseReaper(QObject):
    """Frees big graphs handed to `dispose()` on the GUI thread, STEP_BUDGET_S per turn."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._dismantler = Dismantler()
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._step)

    def dispose(self, obj) -> None:
        self._dismantler.add(obj)
        if not self._timer.isActive():
            self._timer.start()

    @property
    def busy(self) -> bool:
        return self._dismantler.busy

    def _step(self) -> None:
        if not self._dismantler.step(STEP_BUDGET_S):
            self._timer.stop()


_reaper: StepwiseReaper | None = None


def dispose(obj) -> None:
    """Free `obj` a step at a time on the GUI thread (call it with your last reference).

    One reaper for the application, owned by the QCoreApplication so that it outlives any window
    or bridge that hands it garbage."""
    global _reaper
    if obj is None or (isinstance(obj, (list, dict, tuple)) and not obj):
        return
    if _reaper is None:
        _reaper = StepwiseReaper(QCoreApplication.instance())
        _reaper.destroyed.connect(_forget_reaper)
    _reaper.dispose(obj)


def _forget_reaper() -> None:
    global _reaper
    _reaper = None
