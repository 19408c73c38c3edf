"""Consumer groups and committed offsets: the classic group protocol, stored as Kafka does.

- `hashing`   the coordinator partition of a group (Java String.hashCode, Kafka's Utils.abs).
- `records`   the `__consumer_offsets` key and value formats (OffsetCommitKey/Value,
              GroupMetadataKey/Value), encoded and decoded by hand.
- `state`     one group: members, generation, protocol, offsets (no I/O).
- `manager`   the state machine over all groups this broker coordinates: JoinGroup,
              SyncGroup, Heartbeat, LeaveGroup, offsets, timers; persistence through an
              abstract store so it runs without a broker in unit tests.
- `coordinator` the broker's glue: loads and unloads `__consumer_offsets` partitions as
              leadership moves, and writes records into the partition log with acks=all.
"""
