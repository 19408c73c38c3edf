"""SCRAM credentials through confluent-kafka's AdminClient: the engine and real Kafka store and describe them alike."""

from __future__ import annotations

import uuid

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)
from kio.schema.describe_user_scram_credentials.v0.request import (
    DescribeUserScramCredentialsRequest,
    UserName,
)

from tests.engine.helpers import admin, raw_request
from tests.engine.quota_requests import settled

SHA256, SHA512 = ScramMechanism.SCRAM_SHA_256, ScramMechanism.SCRAM_SHA_512


def _described(client, users):
    """{user: [(mechanism, iterations)] or the error's name}."""
    out = {}
    for user, future in client.describe_user_scram_credentials(users).items():
        try:
            out[user] = sorted((c.mechanism, c.iterations) for c in future.result(10).scram_credential_infos)
        except KafkaException as exc:
            out[user] = exc.args[0].name()
    return out


def _altered(client, alterations):
    out = {}
    for user, future in client.alter_user_scram_credentials(alterations).items():
        try:
            future.result(10)
            out[user] = None
        except KafkaException as exc:
            out[user] = (exc.args[0].name(), exc.args[0].str())
    return out


def test_scram_credentials_are_stored_described_and_deleted(single_broker):
    a = admin(single_broker)
    alice, bob, nobody = (f"{n}-{uuid.uuid4().hex[:6]}" for n in ("alice", "bob", "nobody"))
    assert _altered(a, [
        UserScramCredentialUpsertion(alice, ScramCredentialInfo(SHA256, 8192), b"alice-secret"),
        UserScramCredentialUpsertion(bob, ScramCredentialInfo(SHA512, 4096), b"bob-secret", b"salt"),
    ]) == {alice: None, bob: None}
    assert _altered(a, [UserScramCredentialUpsertion(alice, ScramCredentialInfo(SHA512, 10000), b"x")]) == {alice: None}
    expected = {alice: [(SHA256, 8192), (SHA512, 10000)], bob: [(SHA512, 4096)], nobody: "RESOURCE_NOT_FOUND"}
    assert settled(lambda: _described(a, [alice, bob, nobody]), expected) == expected
    everyone = a.describe_user_scram_credentials().result(10)
    assert {alice, bob} <= everyone.keys()

    assert _altered(a, [UserScramCredentialUpsertion(bob, ScramCredentialInfo(SHA256, 100), b"short")]) == {
        bob: ("UNACCEPTABLE_CREDENTIAL", "Too few iterations")}
    assert _altered(a, [UserScramCredentialUpsertion(bob, ScramCredentialInfo(SHA256, 20000), b"long")]) == {
        bob: ("UNACCEPTABLE_CREDENTIAL", "Too many iterations")}
    assert _altered(a, [UserScramCredentialDeletion(nobody, SHA256)]) == {
        nobody: ("RESOURCE_NOT_FOUND", "Attempt to delete a user credential that does not exist")}
    assert _altered(a, [UserScramCredentialDeletion(alice, SHA256), UserScramCredentialDeletion(alice, SHA512)]) == {
        alice: ("DUPLICATE_RESOURCE", "A user credential cannot be altered twice in the same request")}
    assert _altered(a, [UserScramCredentialDeletion(alice, SHA256)]) == {alice: None}
    expected = {alice: [(SHA512, 10000)], bob: [(SHA512, 4096)]}
    assert settled(lambda: _described(a, [alice, bob]), expected) == expected


def test_describing_a_user_twice_is_refused(single_broker):
    request = DescribeUserScramCredentialsRequest(users=(UserName(name="same"), UserName(name="same")))
    (result,) = raw_request(single_broker.bootstrap, 50, 0, request).results
    assert (result.user, result.error_code, result.error_message) == (
        "same", 92, "Cannot describe SCRAM credentials for the same user twice in a single request: same")
