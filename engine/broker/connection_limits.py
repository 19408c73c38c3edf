"""max.connections and max.connections.per.ip: how many client connections a broker keeps.

Both are dynamic broker settings, read at every accept. A connection beyond either limit is
closed at once with a log line. Kafka does that beyond max.connections.per.ip; beyond
max.connections it stops accepting until one closes (new ones wait in the listen backlog),
which a client sees later as the same failed connection attempt.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

UNLIMITED = "2147483647"


class ConnectionLimits:
    def __init__(self, setting: Callable[[str, str], str]):
        self._setting = setting
        self._per_ip: Counter[str] = Counter()
        self.open = 0

    def admit(self, ip: str) -> str | None:
        """Count a new connection from `ip`, or say which limit refuses it."""
        per_ip = int(self._setting("max.connections.per.ip", UNLIMITED))
        if self._per_ip[ip] >= per_ip:
            return f"max.connections.per.ip={per_ip} reached for {ip}"
        total = int(self._setting("max.connections", UNLIMITED))
        if self.open >= total:
            return f"max.connections={total} reached"
        self._per_ip[ip] += 1
        self.open += 1
        return None

    def release(self, ip: str) -> None:
        self._per_ip[ip] -= 1
        if self._per_ip[ip] <= 0:
            del self._per_ip[ip]
        self.open -= 1
