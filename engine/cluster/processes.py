"""Is a local process still running, and tell me when it ends (the local engine's brokers
all live on this machine); the command that starts one of our Python modules as a process."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable

OWNER_POLL_S = 1.0

# In a frozen bundle (PyInstaller) sys.executable is the bundle's program, not a Python that
# understands -m: its entry script (packaging/entry.py) runs the module named after this flag.
FROZEN_RUN_MODULE = "--partita-run-module"


def module_command(module: str) -> list[str]:
    """The start of a command line that runs `module` as __main__ in a new process, as
    `python -m module` does; append the module's own arguments."""
    if getattr(sys, "frozen", False):
        return [sys.executable, FROZEN_RUN_MODULE, module]
    return [sys.executable, "-m", module]


def pid_alive(pid: int) -> bool:
    """True while `pid` runs; a zombie (exited, not yet reaped by its parent) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().split(b") ", 1)[1][:1] != b"Z"
    except (OSError, IndexError):
        return True


def on_exit(pid: int, callback: Callable[[], None]) -> asyncio.Task | None:
    """Call `callback` in the running event loop once process `pid` (any process, not only a
    child) has ended; at once when it already has. Keep the task it may return."""
    loop = asyncio.get_running_loop()
    try:
        fd = os.pidfd_open(pid)  # readable when the process ends; immune to the pid being reused
    except ProcessLookupError:
        loop.call_soon(callback)
        return None
    except (AttributeError, OSError):  # no pidfd here (kernel < 5.3): look now and then
        async def poll() -> None:
            while pid_alive(pid):
                await asyncio.sleep(OWNER_POLL_S)
            callback()

        return loop.create_task(poll())

    def ended() -> None:
        loop.remove_reader(fd)
        os.close(fd)
        callback()

    loop.add_reader(fd, ended)
    return None
