"""Committed offsets of groups that stay empty expire after offsets.retention.minutes; a stable
group keeps its own. The scenario runs in the background from the session's start (see
tests/engine/groups/offsets_retention.py); this module sorts late so its minute has passed."""

from __future__ import annotations

import pytest

from tests.engine.groups.offsets_retention import WATCH_S


@pytest.mark.slow
def test_offsets_of_groups_that_stay_empty_expire_after_offsets_retention_minutes(offsets_retention):
    """The smallest retention Kafka's setting allows is a minute: the scenario runs from the
    start of the session in the background (tests/engine/groups/offsets_retention.py), and this
    reads what it saw."""
    offsets_retention.wait(timeout=WATCH_S + 120)
    seen = offsets_retention.observations
    assert seen and all(empty == {0: 4} for at, empty, _ in seen if at < 58), "expired early"
    gone = [at for at, empty, simple in seen if not empty and not simple]
    assert gone and gone[0] >= 58, f"not expired within the watch: {seen[-3:]}"
    listed = offsets_retention.listed_after
    assert "retention-empty" not in listed and "retention-simple" not in listed
    # A stable group keeps the offsets of the topics it subscribes to.
    assert offsets_retention.active_offsets_after == {0: 4}
    assert "retention-active" in listed
