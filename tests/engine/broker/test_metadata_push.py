"""How a broker takes the supervisor's metadata pushes: a delta on top of the image it has is
applied, one it has seen is ignored, and one that builds on an image it lacks (a gap) makes it
ask for the whole image."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from partita.engine.broker.broker import Broker
from partita.engine.cluster.controller import Controller
from partita.engine.cluster.metadata import MetadataImage
from partita.engine.cluster.store import MetadataStore


def _images(tmp_path) -> list[MetadataImage]:
    controller = Controller(MetadataStore(tmp_path / "m.db"), "cid", {})
    images = []
    controller.subscribe(images.append)
    controller.register_broker(1, "127.0.0.1", 9001, None, ["/d1"])
    controller.create_topics([{"name": "a", "num_partitions": 1, "replication_factor": 1}])
    controller.create_topics([{"name": "b", "num_partitions": 1, "replication_factor": 1}])
    return images


def _broker(image: MetadataImage):
    installed, resyncs = [], []

    async def resync():
        resyncs.append(True)

    stub = SimpleNamespace(metadata=image, _resync=resync)
    stub._install = lambda new: (installed.append(new), setattr(stub, "metadata", new))
    return stub, installed, resyncs


def test_a_delta_is_applied_on_the_image_it_builds_on_and_a_gap_asks_for_the_whole_image(tmp_path):
    first, second, third = _images(tmp_path)

    async def scenario():
        held = MetadataImage.from_json(first.to_json())
        broker, installed, resyncs = _broker(held)
        Broker._on_push(broker, {"push": "metadata_delta", "delta": second.delta_json(first)})
        assert [i.version for i in installed] == [second.version]
        assert broker.metadata.to_json() == second.to_json()
        Broker._on_push(broker, {"push": "metadata_delta", "delta": second.delta_json(first)})  # seen
        assert len(installed) == 1

        gapped, installed, resyncs = _broker(MetadataImage.from_json(first.to_json()))
        Broker._on_push(gapped, {"push": "metadata_delta", "delta": third.delta_json(second)})
        await asyncio.sleep(0)
        assert installed == [] and resyncs == [True]

    asyncio.run(scenario())
