"""A broker process, as the supervisor starts it: `python -m partita.engine.broker CONFIG.json`."""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import signal
import sys
from pathlib import Path

from partita.engine.broker.broker import Broker
from partita.engine.broker.config import BrokerConfig


async def run(config: BrokerConfig) -> None:
    broker = Broker(config)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, broker.stopped.set)
    loop.add_signal_handler(signal.SIGINT, broker.stopped.set)
    await broker.start()
    await broker.stopped.wait()
    await broker.controlled_shutdown()
    await broker.stop()


def raise_open_files_limit() -> None:
    """Every partition keeps its segment files open, and desktops start programs with a soft limit
    of 1,024 files: a few hundred partitions would fail with "Too many open files". Raise the soft
    limit to the hard one, as the JVM does for Kafka (MaxFDLimit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError) as exc:
            logging.getLogger(__name__).warning("could not raise the open files limit from %d: %s", soft, exc)


def main() -> None:
    config = BrokerConfig.load(Path(sys.argv[1]))
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s broker-{config.node_id} %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    raise_open_files_limit()
    # uvloop (libuv) spends less CPU per request than asyncio's own loop; PARTITA_UVLOOP=0
    # turns it off, for comparisons.
    if os.environ.get("PARTITA_UVLOOP", "1") != "0":
        try:
            import uvloop
        except ImportError:
            uvloop = None
        if uvloop is not None:
            uvloop.install()
    asyncio.run(run(config))


if __name__ == "__main__":
    main()
