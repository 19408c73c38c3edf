"""Producer ids this broker hands to idempotent producers, taken from the controller in blocks.

The controller persists each block before handing it out, so ids stay unique across the
cluster and across restarts.
"""

from __future__ import annotations


class ProducerIdBlock:
    def __init__(self, broker, block_size: int = 1000):
        self.broker = broker
        self.block_size = block_size
        self.next = 0
        self.end = 0

    async def take(self) -> int:
        if self.next >= self.end:
            block = await self.broker.controller.call("AllocateProducerIds", node_id=self.broker.node_id)
            self.next, self.end = block["first"], block["first"] + block["count"]
        pid = self.next
        self.next += 1
        return pid
