"""The lab's questions, each setting shown working on a real broker:
producer key_serializer and partitioner, consumer group_id and consumer_timeout_ms."""

import json
import time
import uuid

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.partitioner import Partitioner
from kafka.serializer import Serializer

from tests.lab import new_topic

SPECIES_PARTITION = {"virginica": 0, "setosa": 1}


def read_all(kafka, topic, **config):
    """(partition, key, value) of every record, read from the beginning of each partition."""
    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap, consumer_timeout_ms=2000, **config)
    consumer.assign([TopicPartition(topic, p) for p in (0, 1)])
    consumer.seek_to_beginning()
    records = [(m.partition, m.key, m.value) for m in consumer]
    consumer.close()
    return records


class IdAsText(Serializer):
    def serialize(self, topic, headers, data):
        return str(data).encode()


class Json(Serializer):
    def serialize(self, topic, headers, data):
        return json.dumps(data).encode()


def test_key_serializer_turns_the_key_into_bytes_and_equal_keys_share_a_partition(kafka):
    topic = new_topic(kafka.bootstrap)
    with KafkaProducer(bootstrap_servers=kafka.bootstrap, key_serializer=IdAsText()) as producer:
        for record_id in (7, 7, 7, 8, 8, 8):
            producer.send(topic, key=record_id, value=b"x")
    records = read_all(kafka, topic)
    assert sorted(key for _, key, _ in records) == [b"7"] * 3 + [b"8"] * 3
    # the default partitioner hashes the key bytes: one key, one partition
    assert len({p for p, key, _ in records if key == b"7"}) == 1
    assert len({p for p, key, _ in records if key == b"8"}) == 1


class SpeciesPartitioner(Partitioner):
    """Picks the partition from the record's species, as the lab's producer routes."""

    def partition(self, topic, key, serialized_key, value, serialized_value, cluster):
        return SPECIES_PARTITION[value["species"]]


def test_a_custom_partitioner_picks_the_partition(kafka):
    topic = new_topic(kafka.bootstrap)
    rows = [{"id": i, "species": s} for i, s in enumerate(["setosa", "virginica"] * 10)]
    with KafkaProducer(bootstrap_servers=kafka.bootstrap, partitioner=SpeciesPartitioner(),
                       value_serializer=Json()) as producer:
        for row in rows:
            producer.send(topic, key=str(row["id"]).encode(), value=row)
    records = read_all(kafka, topic)
    assert len(records) == 20
    for partition, _, value in records:
        assert partition == SPECIES_PARTITION[json.loads(value)["species"]]


def subscribe_and_read(kafka, topic, group_id):
    consumer = KafkaConsumer(topic, bootstrap_servers=kafka.bootstrap, group_id=group_id,
                             auto_offset_reset="earliest", consumer_timeout_ms=3000)
    values = [m.value for m in consumer]
    consumer.close()  # with a group, close() commits the offsets read (enable_auto_commit)
    return values


def committed_offsets(kafka, topic):
    """group -> {partition: committed offset}, for every group on the broker that has
    committed an offset on the topic."""
    with KafkaAdminClient(bootstrap_servers=kafka.bootstrap) as admin:
        groups = [group["group_id"] for group in admin.list_groups()]
        offsets = {group: admin.list_group_offsets({group: None})[group] for group in groups}
    return {group: {tp.partition: meta.offset for tp, meta in committed.items()
                    if tp.topic == topic}
            for group, committed in offsets.items()
            if any(tp.topic == topic for tp in committed)}


def send(kafka, topic, values):
    with KafkaProducer(bootstrap_servers=kafka.bootstrap) as producer:
        for i, value in enumerate(values):
            producer.send(topic, value=value, partition=i % 2)


def test_with_a_group_id_offsets_are_committed_and_a_rerun_reads_only_new_records(kafka):
    topic, group = new_topic(kafka.bootstrap), f"g-{uuid.uuid4().hex[:8]}"
    send(kafka, topic, [b"a", b"b", b"c", b"d"])
    assert sorted(subscribe_and_read(kafka, topic, group)) == [b"a", b"b", b"c", b"d"]
    assert subscribe_and_read(kafka, topic, group) == []
    send(kafka, topic, [b"e"])
    assert subscribe_and_read(kafka, topic, group) == [b"e"]
    # the group's commits, as the broker lists them: the same look finds none without a group
    assert committed_offsets(kafka, topic) == {group: {0: 3, 1: 2}}


def test_without_a_group_id_nothing_is_committed_and_a_rerun_reads_everything(kafka):
    topic = new_topic(kafka.bootstrap)
    send(kafka, topic, [b"a", b"b", b"c"])
    assert sorted(subscribe_and_read(kafka, topic, None)) == [b"a", b"b", b"c"]
    assert sorted(subscribe_and_read(kafka, topic, None)) == [b"a", b"b", b"c"]
    assert committed_offsets(kafka, topic) == {}  # no group on the broker holds an offset


def test_consumer_timeout_ms_ends_the_iteration(kafka):
    topic = new_topic(kafka.bootstrap)
    send(kafka, topic, [b"a", b"b"])
    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap, consumer_timeout_ms=1500)
    consumer.assign([TopicPartition(topic, 0), TopicPartition(topic, 1)])
    consumer.seek_to_beginning()
    started = time.monotonic()
    values = [m.value for m in consumer]  # returns: no record for 1.5 s ends the loop
    elapsed = time.monotonic() - started
    consumer.close()
    assert sorted(values) == [b"a", b"b"]
    assert elapsed >= 1.5
