"""The controller's durable metadata: a SQLite database in the cluster directory.

WAL mode, so brokers and tools may read it while the controller writes. Only the topics
and brokers that changed between two images are written, inside one transaction, before
the controller acknowledges the change.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from types import MappingProxyType

from partita.engine.cluster.metadata import BrokerInfo, MetadataImage, TopicState

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS brokers (node_id INTEGER PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS broker_configs (node_id INTEGER PRIMARY KEY, doc TEXT NOT NULL);
"""


class MetadataStore:
    def __init__(self, path: Path):
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    def load(self) -> MetadataImage | None:
        meta = dict(self.db.execute("SELECT key, value FROM meta"))
        if "cluster_id" not in meta:
            return None
        brokers = {}
        for (doc,) in self.db.execute("SELECT doc FROM brokers"):
            b = BrokerInfo.from_json(json.loads(doc))
            brokers[b.node_id] = BrokerInfo(b.node_id, b.host, b.port, b.rack, b.log_dirs, alive=False)
        topics = {}
        for (doc,) in self.db.execute("SELECT doc FROM topics"):
            t = TopicState.from_json(json.loads(doc))
            topics[t.name] = t
        configs = {
            node: MappingProxyType(json.loads(doc))
            for node, doc in self.db.execute("SELECT node_id, doc FROM broker_configs")
        }
        return MetadataImage(
            int(meta.get("version", "0")),
            meta["cluster_id"],
            -1,
            MappingProxyType(brokers),
            MappingProxyType(topics),
            MappingProxyType(configs),
            MappingProxyType({t.topic_id: t.name for t in topics.values()}),
        )

    def save(self, old: MetadataImage, new: MetadataImage) -> None:
        db = self.db
        db.execute("BEGIN")
        try:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('cluster_id', ?)", (new.cluster_id,))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (str(new.version),))
            for node_id, b in new.brokers.items():
                if old.brokers.get(node_id) != b:
                    db.execute("INSERT OR REPLACE INTO brokers VALUES (?, ?)", (node_id, json.dumps(b.to_json())))
            for name, t in new.topics.items():
                if old.topics.get(name) is not t:
                    db.execute("INSERT OR REPLACE INTO topics VALUES (?, ?)", (name, json.dumps(t.to_json())))
            for name in old.topics.keys() - new.topics.keys():
                db.execute("DELETE FROM topics WHERE name = ?", (name,))
            for node_id, c in new.broker_configs.items():
                if old.broker_configs.get(node_id) is not c:
                    db.execute("INSERT OR REPLACE INTO broker_configs VALUES (?, ?)", (node_id, json.dumps(dict(c))))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def close(self) -> None:
        self.db.close()
