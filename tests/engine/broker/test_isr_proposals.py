"""A leader's ISR proposals go to the controller in batches; the answer to an older batch must
not free a partition that, freed by the new image, has proposed again since (it then proposed a
third time with a stale epoch, which the controller refused, on every partition of a big batch)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from partita.engine.broker.replica_manager import ReplicaManager


def _partition(topic: str, index: int):
    state = SimpleNamespace(leader_epoch=0, partition_epoch=0)
    return SimpleNamespace(topic=topic, index=index, state=state, isr_change_in_flight=False,
                           pending_isr=frozenset(), maybe_advance_hw=lambda: None)


def _manager(tmp_path, call) -> ReplicaManager:
    """A leader's replica manager whose controller answers through `call`."""
    return ReplicaManager(SimpleNamespace(config=SimpleNamespace(node_id=1, log_dirs=[str(tmp_path)], settings={}),
                                          controller=SimpleNamespace(call=call)))


def test_the_answer_to_an_older_batch_leaves_a_newer_proposal_in_flight(tmp_path):
    async def scenario():
        calls, first_answer = [], asyncio.Event()

        async def call(op, **args):
            calls.append([c["isr"] for c in args["partitions"]])
            if len(calls) == 1:
                await first_answer.wait()
            return {"results": [{"error_code": 0} for _ in args["partitions"]]}

        manager = _manager(tmp_path, call)
        p = _partition("t", 0)
        manager.propose_isr(p, [1, 2])
        await asyncio.sleep(0.01)  # the first batch is on its way
        p.isr_change_in_flight = False  # its image came first (pushed before the answer) and freed it
        p.state = SimpleNamespace(leader_epoch=0, partition_epoch=1)
        manager.propose_isr(p, [1, 2, 3])  # another follower caught up
        first_answer.set()
        await asyncio.sleep(0.01)
        assert calls == [[[1, 2]], [[1, 2, 3]]]
        assert not p.isr_change_in_flight  # freed by the answer to its own, latest proposal
        return manager

    manager = asyncio.run(scenario())
    assert manager._latest_isr_proposal == {}


def test_an_older_answer_does_not_free_the_partition_while_its_newer_proposal_waits(tmp_path):
    async def scenario():
        answers = [asyncio.Event(), asyncio.Event()]
        calls = []

        async def call(op, **args):
            calls.append(args["partitions"])
            await answers[len(calls) - 1].wait()
            return {"results": [{"error_code": 0} for _ in args["partitions"]]}

        manager = _manager(tmp_path, call)
        p = _partition("t", 0)
        manager.propose_isr(p, [1, 2])
        await asyncio.sleep(0.01)
        p.isr_change_in_flight = False
        manager.propose_isr(p, [1, 2, 3])
        answers[0].set()
        await asyncio.sleep(0.01)
        assert p.isr_change_in_flight  # the newer proposal is still on its way
        answers[1].set()
        await asyncio.sleep(0.01)
        assert not p.isr_change_in_flight

    asyncio.run(scenario())
