"""Transaction admin calls (kafka-transactions.sh, kafka-python) for transactional ids no producer
used: the engine and real Kafka list none and describe an unknown transactional id alike.

The clusters are shared with tests that run transactions (test_transactions.py, the exactly-once
Streams app), whose ids Kafka lists for days: listings here are filtered to ids none of them uses."""

from __future__ import annotations

import time

import pytest
from kafka.admin import KafkaAdminClient
from kafka.errors import TransactionalIdNotFoundError
from kio.schema.describe_transactions.v0.request import DescribeTransactionsRequest
from kio.schema.find_coordinator.v4.request import FindCoordinatorRequest
from kio.schema.list_transactions.v2.request import ListTransactionsRequest

from tests.engine.helpers import raw_request
from tests.support.kafka_cli import TRANSACTIONS_COMMAND, run_kafka_tool

UNUSED_IDS = "nobody-.*"  # no test's transactional id matches
NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, TRANSACTIONAL_ID_NOT_FOUND, INVALID_REQUEST, INVALID_REGULAR_EXPRESSION = 16, 14, 105, 42, 128


def test_kafka_transactions_tool_lists_none_and_cannot_find_an_unknown_id(single_broker):
    listed = run_kafka_tool(TRANSACTIONS_COMMAND, "--bootstrap-server", single_broker.bootstrap, "list",
                            "--transactional-id-pattern", UNUSED_IDS)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["TransactionalId", "Coordinator", "ProducerId", "TransactionState"]

    described = run_kafka_tool(TRANSACTIONS_COMMAND, "--bootstrap-server", single_broker.bootstrap,
                               "describe", "--transactional-id", "nobody-txn")
    assert described.returncode == 1
    assert "transactionalId `nobody-txn` failed because the ID could not be found" in described.stdout + described.stderr


def test_kafka_python_lists_and_describes_transactions(single_broker):
    client = KafkaAdminClient(bootstrap_servers=single_broker.bootstrap)
    try:
        assert client.list_transactions(transactional_id_pattern=UNUSED_IDS) == {1: []}
        assert client.list_transactions(state_filters=["Ongoing"], duration_filter_ms=1000,
                                        transactional_id_pattern="orders-.*") == {1: []}
        with pytest.raises(TransactionalIdNotFoundError):
            client.describe_transactions(["nobody-txn"])
    finally:
        client.close()


def test_list_transactions_checks_state_filters_and_pattern(single_broker):
    states = ("Ongoing", "Bogus", "CompleteAbort", "ongoing", "Bogus", "PrepareEpochFence")
    r = raw_request(single_broker.bootstrap, 66, 2,
                    ListTransactionsRequest(state_filters=states, transactional_id_pattern=UNUSED_IDS))
    assert (r.error_code, sorted(r.unknown_state_filters), r.transaction_states) == (0, ["Bogus", "ongoing"], ())
    r = raw_request(single_broker.bootstrap, 66, 2,
                    ListTransactionsRequest(state_filters=states, transactional_id_pattern="orders-["))
    assert (r.error_code, r.unknown_state_filters) == (INVALID_REGULAR_EXPRESSION, ())


def test_only_the_coordinator_of_a_transactional_id_knows_it_is_unknown(three_brokers):
    txn_id = "orders-txn"
    bootstrap = three_brokers.bootstrap.split(",")[0]

    def find():
        request = FindCoordinatorRequest(key_type=1, coordinator_keys=(txn_id,))
        return raw_request(bootstrap, 10, 4, request).coordinators[0]

    def describe(node):
        request = DescribeTransactionsRequest(transactional_ids=(txn_id, ""))
        return raw_request(three_brokers.address(node), 65, 0, request).transaction_states

    def ask_coordinator():
        found = find()
        return found, describe(found.node_id) if found.error_code == 0 else None

    # Kafka creates __transaction_state on the first request and answers once the partition has a
    # leader; its coordinator takes the partition up (NOT_COORDINATOR, then COORDINATOR_LOAD_IN_PROGRESS)
    # a moment later. Ask again until the coordinator answers for the id.
    found, states = _eventually(ask_coordinator, lambda r: r[1] is not None and r[1][0].error_code not in (
        NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS))
    assert found.error_code == 0 and found.node_id in three_brokers.broker_ids
    state, empty = states
    assert (state.transactional_id, state.error_code, state.transaction_state, state.producer_id) == (
        txn_id, TRANSACTIONAL_ID_NOT_FOUND, "", 0)
    assert empty.error_code == INVALID_REQUEST
    for node in three_brokers.broker_ids:
        if node != found.node_id:
            state, empty = describe(node)
            assert (state.error_code, empty.error_code) == (NOT_COORDINATOR, INVALID_REQUEST), node


def _eventually(call, done, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while True:
        result = call()
        if done(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.2)
