"""Client quotas and SCRAM credentials are the controller's metadata: they survive a cluster restart."""

from __future__ import annotations

from confluent_kafka.admin import ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

from partita.engine.cluster import launcher
from tests.engine.helpers import admin
from tests.engine.quota_requests import EXACT, alter_quotas, describe_quotas


def test_quotas_and_scram_credentials_survive_cluster_restart(make_engine):
    cluster = make_engine(brokers=1)
    alter_quotas(cluster.bootstrap, [({"user": "alice"}, {"producer_byte_rate": 1024.0}),
                                     ({"user": None, "client-id": None}, {"request_percentage": 40.0})])
    upsert = UserScramCredentialUpsertion("alice", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 8192), b"s3cret")
    client = admin(cluster)  # must outlive its futures
    client.alter_user_scram_credentials([upsert])["alice"].result(10)

    launcher.stop(cluster.dir)
    assert launcher.status(cluster.dir) is None
    cluster.info = launcher.up(cluster.dir)

    assert describe_quotas(cluster.bootstrap, [("user", EXACT, "alice")], strict=True) == {
        frozenset({("user", "alice")}): {"producer_byte_rate": 1024.0}}
    assert describe_quotas(cluster.bootstrap, [], strict=False) == {
        frozenset({("user", "alice")}): {"producer_byte_rate": 1024.0},
        frozenset({("user", None), ("client-id", None)}): {"request_percentage": 40.0}}
    client = admin(cluster)
    described = client.describe_user_scram_credentials(["alice"])["alice"].result(10)
    assert [(c.mechanism, c.iterations) for c in described.scram_credential_infos] == [
        (ScramMechanism.SCRAM_SHA_256, 8192)]
