"""A stopped replica fetcher ends even if its cancellation is lost (Python 3.11's wait_for can
swallow one that races a reply): stop() also clears its partitions, sets a flag and wakes it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from partita.engine.broker.replica_fetcher import LeaderFetcher


def test_a_stopped_fetcher_ends_even_when_its_cancellation_is_lost():
    async def scenario():
        broker = SimpleNamespace(metadata=SimpleNamespace(brokers={}), config=SimpleNamespace(node_id=1))
        fetcher = LeaderFetcher(broker, leader_id=2)
        await asyncio.sleep(0.01)  # no partitions: it waits to be woken
        task = fetcher.task
        fetcher.task = SimpleNamespace(cancel=lambda: None)  # the cancellation goes nowhere
        fetcher.stop()
        await asyncio.wait_for(task, 1.0)  # ends by itself, not cancelled
        assert task.done() and not task.cancelled() and fetcher.partitions == {}

    asyncio.run(scenario())
