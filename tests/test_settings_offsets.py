"""auto_offset_reset and enable_auto_commit on a real broker: what the experiments of
python -m irislab.settings show, checked against the broker with kcat."""

from irislab.settings import offsets
from irislab.settings.place import Place
from tests.lab import kcat_records


def test_auto_offset_reset_a_new_group_reads_all_with_earliest_none_with_latest(kafka):
    result = offsets.auto_offset_reset(Place(kafka.bootstrap))
    on_topic = kcat_records(kafka.bootstrap, "settings.auto_offset_reset", 0)
    assert len(on_topic) == 150 + offsets.LATER  # the lab's records, then those sent later
    assert result.row("earliest")["a new group read"] == 150
    assert result.row("latest")["a new group read"] == 0
    assert result.column("then read") == [offsets.LATER, offsets.LATER]


def committed_by_librdkafka(bootstrap, topic):
    """Each settings.enable_auto_commit.* group's committed offset of the topic's partition
    0, as confluent-kafka (librdkafka) reads it: group -> offset."""
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept: its futures need it alive
    listed = admin.list_consumer_groups().result(30)
    offsets = {}
    for group in (g.group_id for g in listed.valid):
        if group.startswith("settings.enable_auto_commit."):
            reader = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
            try:  # asks for the group's offsets without joining it
                offsets[group] = reader.committed([TopicPartition(topic, 0)], timeout=30)[0].offset
            finally:
                reader.close()
    return offsets


def test_enable_auto_commit_a_killed_member_shows_again_what_it_showed_since_its_commit(kafka):
    topic = "settings.enable_auto_commit"
    before = committed_by_librdkafka(kafka.bootstrap, topic)  # groups of earlier runs
    result = offsets.enable_auto_commit(Place(kafka.bootstrap))
    assert len(kcat_records(kafka.bootstrap, topic, 0)) == 150
    # the groups' committed offsets, read by another client, are those the table gives
    ours = {g: o for g, o in committed_by_librdkafka(kafka.bootstrap, topic).items()
            if g not in before}
    assert sorted(ours.values()) == sorted(result.column("committed at the stop"))
    killed, irislab_way, ctrl_c = (dict(zip(result.columns, row)) for row in result.rows)
    for row in (killed, irislab_way, ctrl_c):
        assert row["shown before"] == offsets.STOP_AT
        assert row["shown by the rerun"] == 150 - row["committed at the stop"]
    # auto-commit happens in poll(): it had committed what the poll before handed over, so
    # the rerun shows again what was shown since; nothing handed over is lost
    assert killed["committed at the stop"] == offsets.BATCH
    assert (killed["duplicates"], killed["lost"]) == (offsets.STOP_AT - offsets.BATCH, 0)
    # irislab commits what it has shown, after showing it: nothing is shown twice
    assert irislab_way["committed at the stop"] == offsets.STOP_AT
    assert (irislab_way["duplicates"], irislab_way["lost"]) == (0, 0)
    # close() after Ctrl-C auto-commits the whole batch handed over: its unshown rest is lost
    assert ctrl_c["committed at the stop"] == 2 * offsets.BATCH
    assert (ctrl_c["duplicates"], ctrl_c["lost"]) == (0, 2 * offsets.BATCH - offsets.STOP_AT)
