"""The controller's durable metadata: a SQLite database in the cluster directory.

WAL mode, so brokers and tools may read it while the controller writes. Only the topics
and brokers that changed between two images are written, inside one transaction, before
the controller acknowledges the change; client quotas and SCRAM credentials likewise.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from partita.engine.cluster.metadata import BrokerInfo, MetadataImage, TopicState

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS brokers (node_id INTEGER PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS broker_configs (node_id INTEGER PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS client_quotas (entity TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scram_credentials (user TEXT, mechanism INTEGER, doc TEXT NOT NULL,
                                              PRIMARY KEY (user, mechanism));
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
            brokers[b.node_id] = replace(b, alive=False, pid=None, shutting_down=False)
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
            MappingProxyType({key: MappingProxyType(credential)
                              for key, credential in self.load_scram_credentials().items()}),
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
            if old.scram is not new.scram:
                self._save_scram_credentials(db, old.scram, new.scram)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # Client quotas are the controller's too, but not part of the image pushed to brokers: brokers
    # ask the controller for them (DescribeClientQuotas). SCRAM credentials are in the image (SASL
    # listeners check logins against them), kept in their own table.

    def load_client_quotas(self) -> dict[tuple, dict[str, float]]:
        """entity ((type, name), ...) -> {quota key: value}."""
        return {tuple(tuple(pair) for pair in json.loads(entity)): json.loads(doc)
                for entity, doc in self.db.execute("SELECT entity, doc FROM client_quotas")}

    def save_client_quotas(self, changed: dict[tuple, dict[str, float] | None]) -> None:
        """Write the entities whose quotas changed; None (or no values) deletes the entity."""
        with self._transaction() as db:
            for entity, values in changed.items():
                key = json.dumps([list(pair) for pair in entity])
                if values:
                    db.execute("INSERT OR REPLACE INTO client_quotas VALUES (?, ?)", (key, json.dumps(values)))
                else:
                    db.execute("DELETE FROM client_quotas WHERE entity = ?", (key,))

    def load_scram_credentials(self) -> dict[tuple[str, int], dict]:
        """(user, mechanism) -> {"salt", "stored_key", "server_key" (base64), "iterations"}."""
        return {(user, mechanism): json.loads(doc)
                for user, mechanism, doc in self.db.execute("SELECT user, mechanism, doc FROM scram_credentials")}

    @staticmethod
    def _save_scram_credentials(db, old, new) -> None:
        for (user, mechanism) in old.keys() - new.keys():
            db.execute("DELETE FROM scram_credentials WHERE user = ? AND mechanism = ?", (user, mechanism))
        for (user, mechanism), credential in new.items():
            if old.get((user, mechanism)) != credential:
                db.execute("INSERT OR REPLACE INTO scram_credentials VALUES (?, ?, ?)",
                           (user, mechanism, json.dumps(dict(credential))))

    @contextlib.contextmanager
    def _transaction(self):
        self.db.execute("BEGIN")
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def close(self) -> None:
        self.db.close()
