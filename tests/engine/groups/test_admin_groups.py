"""AdminClient views of groups and offsets — the same scenario against the engine and Apache Kafka."""

from __future__ import annotations

import pytest

from tests.engine.groups.admin_scenario import run_admin_scenario, run_static_removal_scenario

EXPECTED = {
    "listed_stable": True,
    "listed_empty_while_active": False,
    "describe_active": {
        "state": "STABLE",
        "simple": False,
        "assignor": "range",
        "members": [("admin-scenario", "127.0.0.1", None, [0, 1, 2])],
        "coordinator_known": True,
    },
    "offsets_all": {0: (10, ""), 1: (4, "m1")},
    "offsets_some": {1: (4, "m1"), 2: (-1001, "")},
    "lag": {0: 0, 1: 6, 2: None},  # high watermark 10 minus what the group committed
    "alter_active": ["UNKNOWN_MEMBER_ID"],
    "offset_delete_subscribed": {0: "GroupSubscribedToTopicError"},
    "delete_active": "NON_EMPTY_GROUP",
    "describe_empty": {"state": "EMPTY", "members": 0},
    "listed_empty": True,
    "alter_empty": [(0, 2, None), (2, 5, None)],
    "offsets_after_alter": {0: (2, ""), 1: (4, "m1"), 2: (5, "set")},
    "offset_delete_empty": {2: "NoError"},
    "offsets_after_offset_delete": {0: (2, ""), 1: (4, "m1")},
    "fetch_two_groups": {"adm-g": [(0, 2), (1, 4)], "adm-g-other": [(1, 7)]},
    "listed_after_delete": False,
    "offsets_after_delete": {0: (-1001, "")},
    "describe_deleted": "DEAD",
}


def _expected(group: str) -> dict:
    out = dict(EXPECTED)
    out["fetch_two_groups"] = {group: EXPECTED["fetch_two_groups"]["adm-g"],
                               group + "-other": EXPECTED["fetch_two_groups"]["adm-g-other"]}
    return out


def test_admin_client_sees_groups_offsets_and_lag_on_the_engine(engine):
    assert run_admin_scenario(engine, "adm-t", "adm-g") == _expected("adm-g")


@pytest.mark.kafka
def test_admin_client_sees_the_same_on_apache_kafka(apache_kafka):
    assert run_admin_scenario(apache_kafka, "adm-t", "adm-g") == _expected("adm-g")


STATIC_EXPECTED = {"removed": {"inst-1": "NoError", "inst-9": "UnknownMemberIdError"}, "left": "ok"}


def test_batched_leave_removes_static_members_on_the_engine(engine):
    assert run_static_removal_scenario(engine, "adm-static", "adm-static-g") == STATIC_EXPECTED


@pytest.mark.kafka
def test_batched_leave_removes_static_members_on_apache_kafka(apache_kafka):
    assert run_static_removal_scenario(apache_kafka, "adm-static", "adm-static-g") == STATIC_EXPECTED
