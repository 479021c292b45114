"""The lab's four answers as experiments (python -m irislab.settings key_serializer,
partitioner, group_id, consumer_timeout_ms) on a real broker, checked with kcat."""

from kafka import KafkaAdminClient
from kafka.partitioner import murmur2

from irislab.settings import lab_answers
from irislab.settings.place import Place
from tests.lab import kcat_records


def on_topic(kafka, topic):
    """(partition, key, value dict) of every record of a 2-partition topic, read by kcat."""
    return [(p, key, value) for p in (0, 1) for _, key, value in kcat_records(kafka.bootstrap,
                                                                              topic, p)]


def test_key_serializer_stores_the_id_as_text_and_equal_keys_share_a_partition(kafka):
    result = lab_answers.key_serializer(Place(kafka.bootstrap))
    records = on_topic(kafka, "settings.key_serializer")
    assert sorted(key for _, key, _ in records) == sorted([str(i) for i in range(150)] * 2)
    assert all(key == str(value["id"]) for _, key, value in records)
    partitions = {}
    for partition, key, _ in records:
        partitions.setdefault(key, set()).add(partition)
    assert all(len(p) == 1 for p in partitions.values())
    assert result.row("None (the default)")["stored key"].startswith("TypeError")


def test_partitioner_the_default_hashes_the_key_and_the_lab_s_routes_by_species(kafka):
    result = lab_answers.partitioner(Place(kafka.bootstrap))
    hashed = on_topic(kafka, "settings.partitioner.default")
    assert len(hashed) == 150
    for partition, key, _ in hashed:  # the Java client's murmur2, modulo the partitions
        assert partition == (murmur2(key.encode()) & 0x7fffffff) % 2
    routed = on_topic(kafka, "settings.partitioner.species")
    assert {v["species"] for p, _, v in routed if p == 0} == {"virginica", "versicolor"}
    assert {v["species"] for p, _, v in routed if p == 1} == {"setosa", "versicolor"}
    for rows, records in ((result.rows[:2], hashed), (result.rows[2:], routed)):
        for name, partition, *counts in rows:  # the table counts what kcat reads
            assert counts == [sum(1 for p, _, v in records if p == partition and v["species"] == s)
                              for s in ("setosa", "versicolor", "virginica")]


def test_group_id_a_rerun_of_the_group_reads_nothing_and_one_without_reads_all(kafka):
    result = lab_answers.group_id(Place(kafka.bootstrap))
    group, none = result.rows
    assert group[1:3] == (150, 0) and none[1:3] == (150, 150)
    with KafkaAdminClient(bootstrap_servers=kafka.bootstrap) as admin:
        committed = admin.list_group_offsets({group[0]: None})[group[0]]
    assert {tp.topic for tp in committed} == {"settings.group_id"}
    assert sum(meta.offset for meta in committed.values()) == 150


def test_consumer_timeout_ms_ends_the_loop_once_no_record_came_for_that_long(kafka):
    result = lab_answers.consumer_timeout_ms(Place(kafka.bootstrap))
    for timeout_ms, read, after_last in result.rows:
        assert read == 150
        assert after_last >= timeout_ms / 1000 * 0.95  # never before its time
