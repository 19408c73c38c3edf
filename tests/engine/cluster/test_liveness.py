"""The supervisor's broker liveness check: a broker whose heartbeats stop is declared lost, but a
supervisor that was itself held up first reads the heartbeats that queued behind it (a loaded
2-core machine once had live brokers declared lost and fenced while a third was being killed)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from partita.engine.cluster import supervisor as sup


class _Stop(Exception):
    pass


def _run_liveness(tmp_path, monkeypatch, steps):
    """Run Supervisor._liveness against stubs; each step (seconds the tick takes, callback) advances a
    fake clock, runs the callback (heartbeats read meanwhile), then the tick; returns who was lost when."""
    clock = [100.0]
    lost: list[tuple[int, float]] = []
    brokers = {n: SimpleNamespace(spec=SimpleNamespace(node_id=n), last_heartbeat=100.0) for n in (1, 2)}
    image = SimpleNamespace(brokers={n: SimpleNamespace(alive=True) for n in brokers})
    controller = SimpleNamespace(
        image=image, broker_setting=lambda name: "300" if "interval" in name else "false",
        rebalance_leaders=lambda: None, broker_lost=lambda node, why: lost.append((node, clock[0])))
    stub = SimpleNamespace(controller=controller, brokers=brokers, dir=tmp_path, stopping=asyncio.Event())
    script = iter(steps)

    async def fake_sleep(_seconds):
        try:
            took, meanwhile = next(script)
        except StopIteration:
            raise _Stop from None
        clock[0] += took
        meanwhile(brokers, clock[0])

    monkeypatch.setattr(sup.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(sup.asyncio, "sleep", fake_sleep)
    with pytest.raises(_Stop):
        asyncio.run(sup.Supervisor._liveness(stub))
    return lost


def _nothing(brokers, now):
    pass


def _both_beat(brokers, now):
    for b in brokers.values():
        b.last_heartbeat = now


def _only_1_beats(brokers, now):
    brokers[1].last_heartbeat = now


def test_a_held_up_supervisor_reads_the_queued_heartbeats_before_judging(tmp_path, monkeypatch):
    # held up past the session timeout, with no heartbeat read: both look silent, yet neither is
    # declared lost; their queued heartbeats are read before the next tick
    held_up = sup.SESSION_TIMEOUT_S + 1
    lost = _run_liveness(tmp_path, monkeypatch, [(held_up, _nothing), (0.25, _both_beat), (0.25, _both_beat)])
    assert lost == []


def test_a_broker_whose_heartbeats_stop_is_lost_after_the_session_timeout(tmp_path, monkeypatch):
    silent_ticks = int(sup.SESSION_TIMEOUT_S / 0.25) + 2
    steps = [(0.25, _both_beat)] + [(0.25, _only_1_beats)] * silent_ticks  # broker 2 silent from t=100.25
    lost = _run_liveness(tmp_path, monkeypatch, steps)
    assert [node for node, _ in lost][:1] == [2] and 1 not in [node for node, _ in lost]
    assert lost[0][1] - 100.25 > sup.SESSION_TIMEOUT_S
