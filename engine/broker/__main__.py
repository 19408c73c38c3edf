"""A broker process, as the supervisor starts it: `python -m partita.engine.broker CONFIG.json`."""

from __future__ import annotations

import asyncio
import logging
import os
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


def main() -> None:
    config = BrokerConfig.load(Path(sys.argv[1]))
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s broker-{config.node_id} %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
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
