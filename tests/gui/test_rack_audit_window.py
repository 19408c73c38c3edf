"""The rack audit in the window, on a real engine cluster: what it predicts for a rack is what
happens when that rack's brokers die."""

from __future__ import annotations

from confluent_kafka.admin import AdminClient, NewTopic

from tests.engine.helpers import wait_for_leaders

from .test_window_kafka import model_rows, wait_until


def _create(cluster, name: str, assignment: list[list[int]], min_isr: int) -> None:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    topic = NewTopic(name, num_partitions=len(assignment), replica_assignment=assignment,
                     config={"min.insync.replicas": str(min_isr)})
    admin.create_topics([topic])[name].result(timeout=30)
    wait_for_leaders(cluster, name, len(assignment))


def _risks(window, rack: str) -> dict[tuple[str, str], str]:
    window.rack_audit.racks.select_key(rack)
    return {(r["Topic"], r["Partition"]): r["If it fails"] for r in model_rows(window.rack_audit.risks_model)}


def test_the_audit_names_what_a_rack_failure_takes_offline_and_it_does(make_engine, connected_window, qtbot):
    cluster = make_engine(brokers=4, racks=["a", "b", "c"])  # brokers 1 and 4 share rack a
    _create(cluster, "doubled", [[1, 4]], min_isr=1)  # both copies in rack a
    _create(cluster, "spread", [[1, 2, 3]], min_isr=2)
    _create(cluster, "pair", [[2, 3], [4, 2]], min_isr=2)
    window = connected_window(cluster)
    wait_until(qtbot, lambda: window.rack_audit.model.rowCount() == 3)
    racks = {r["Fault domain"]: r for r in model_rows(window.rack_audit.model)}
    assert racks["a"]["Brokers"] == "1,4" and racks["a"]["Offline"] == "1"
    assert racks["a"]["If it fails"] == "OFFLINE"
    assert _risks(window, "a") == {("doubled", "0"): "OFFLINE", ("pair", "1"): "<MIN-ISR"}
    assert _risks(window, "b") == {("pair", "0"): "<MIN-ISR", ("pair", "1"): "<MIN-ISR"}
    assert racks["c"]["Offline"] == "0" and racks["c"]["acks=all refused"] == "1"

    # one broker at a time (before a restart): broker 1 alone takes nothing offline, its rack does
    window.rack_audit.domain.setCurrentText(window.rack_audit.BROKERS)
    assert [r["Fault domain"] for r in model_rows(window.rack_audit.model)] == [f"broker {i}" for i in (1, 2, 3, 4)]
    assert _risks(window, "broker 1") == {("doubled", "0"): "ONE COPY"}
    assert _risks(window, "broker 2") == {("pair", "0"): "<MIN-ISR", ("pair", "1"): "<MIN-ISR"}
    assert not window.rack_audit.fix_button.isEnabled()  # moving replicas cannot help against one broker
    window.rack_audit.domain.setCurrentText(window.rack_audit.RACKS)
    assert _risks(window, "a") == {("doubled", "0"): "OFFLINE", ("pair", "1"): "<MIN-ISR"}
    assert window.rack_audit.fix_button.isEnabled()

    cluster.kill(1)
    cluster.kill(4)

    def partitions() -> dict[tuple[str, str], dict]:
        window.topics.topics.select_key(None)
        return {(r["Topic"], r["Partition"]): r for r in model_rows(window.topics.model)}

    # what the audit said of rack a, now seen in the partitions: offline, and short of min ISR
    wait_until(qtbot, lambda: "OFFLINE" in partitions()[("doubled", "0")]["Flags"], timeout=30)
    wait_until(qtbot, lambda: "<MIN-ISR" in partitions()[("pair", "1")]["Flags"], timeout=30)
    after = partitions()
    assert "OFFLINE" not in after[("spread", "0")]["Flags"] and after[("spread", "0")]["Leader"] in ("2", "3")
    assert "<MIN-ISR" not in after[("spread", "0")]["Flags"]
    # and the audit moves on: rack a is down, so now losing b would take spread below its minimum
    wait_until(qtbot, lambda: model_rows(window.rack_audit.model)[0]["Down"] == "2")
    assert _risks(window, "b")[("spread", "0")] == "<MIN-ISR"
    assert ("doubled", "0") not in _risks(window, "a")  # already offline: nobody's risk any more


def test_the_audit_hands_its_partitions_to_the_planner_and_running_the_plan_clears_the_risk(
        make_engine, connected_window, qtbot):
    cluster = make_engine(brokers=4, racks=["a", "b", "c"])  # brokers 1 and 4 share rack a
    _create(cluster, "doubled", [[1, 4], [4, 1]], min_isr=1)
    window = connected_window(cluster)
    wait_until(qtbot, lambda: window.rack_audit.model.rowCount() == 3)
    assert _risks(window, "a") == {("doubled", "0"): "OFFLINE", ("doubled", "1"): "OFFLINE"}
    window.rack_audit.fix_button.click()
    assert window.tabs.currentWidget() is window.reassign
    plan = {m.key: m.target for m in window.reassign.plan.moves}
    # the later replica of each moves out of rack a, each to a different broker of b and c
    assert plan[("doubled", 0)][0] == 1 and plan[("doubled", 1)][0] == 4
    assert {plan[("doubled", 0)][1], plan[("doubled", 1)][1]} == {2, 3}
    assert "Planned moves for 2 of 2 partitions at risk." in window.reassign.message.text()
    window.reassign.throttle.setValue(0)
    window.reassign.run()
    wait_until(qtbot, lambda: window.reassign.statuses() == ["done", "done"], timeout=30)
    wait_until(qtbot, lambda: model_rows(window.rack_audit.model)[0]["Offline"] == "0", timeout=30)
    # two replicas in two racks: losing a now leaves a copy in another rack
    assert _risks(window, "a") == {("doubled", "0"): "ONE COPY", ("doubled", "1"): "ONE COPY"}
