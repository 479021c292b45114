"""session_timeout_ms and max_poll_interval_ms on a real broker: what the experiments of
python -m irislab.settings show. The moves are waited for as state (a member process saying
it has both partitions, the broker's DescribeGroups down to one member); the only timing
bounds are the point of the setting, and have wide margins."""

from irislab.settings import membership
from irislab.settings.place import Place
from tests.lab import kcat_records


def test_session_timeout_ms_a_crashed_member_s_partitions_move_after_it_a_closed_one_s_sooner(
        kafka):
    result = membership.session_timeout_ms(Place(kafka.bootstrap))
    cases = {(row[0], row[1]): dict(zip(result.columns, row)) for row in result.rows}
    dropped, moved = "s until the broker dropped it", "s until the survivor had both partitions"
    for ms in membership.SESSION_TIMEOUTS:
        killed = cases[membership.KILLED, ms]
        closed = cases[membership.CLOSED, ms]
        # the broker waits a session timeout from the last heartbeat, at most a heartbeat
        # interval (a third of it) before the kill: no move before half of it
        assert killed[dropped] >= ms / 1000 / 2, killed
        assert killed[moved] >= ms / 1000 / 2, killed
        # LeaveGroup drops the closed member at once
        assert closed[dropped] < killed[dropped], (closed, killed)
    # and the survivor has its partitions sooner: within a heartbeat interval (5 s), where a
    # crash takes at least the timeout less a heartbeat interval (10 s); with 6 s the margin
    # (2 s against 4 s) is too thin for a busy machine
    longest = max(membership.SESSION_TIMEOUTS)
    assert cases[membership.CLOSED, longest][moved] < cases[membership.KILLED, longest][moved]
    refused = cases[membership.REFUSED, membership.BROKER_MINIMUM // 2]
    assert "InvalidSessionTimeoutError" in refused[dropped]


def test_max_poll_interval_ms_a_member_too_slow_between_polls_loses_its_partition_and_commit(
        kafka):
    result = membership.max_poll_interval_ms(Place(kafka.bootstrap))
    quick, slow = (dict(zip(result.columns, row)) for row in result.rows)
    assert quick["its commit"] == "accepted"
    assert quick["its partition went to"] == "kept it"
    assert quick["records read again by the other"] == 0
    assert slow["s between its poll()s"] > membership.MAX_POLL_INTERVAL_MS / 1000
    assert slow["its commit"] == "CommitFailedError"
    assert isinstance(slow["it left the group at (s)"], float)
    assert slow["its partition went to"].startswith("the other member")
    # the other member read again the whole second batch of the slow one's partition: kcat
    # sees two batches on each partition
    assert slow["records read again by the other"] == membership.BATCH
    for partition in (0, 1):
        on_topic = kcat_records(kafka.bootstrap, "settings.max_poll_interval_ms", partition)
        assert len(on_topic) == 2 * membership.BATCH
