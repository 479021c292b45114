"""The four settings the lab's report answered, measured on the lab's own records:
key_serializer, partitioner, group_id, consumer_timeout_ms. The README shows each with the
lab's programs; these experiments count what each does."""

import json
import time

from kafka import TopicPartition
from kafka.partitioner import DefaultPartitioner
from kafka.serializer import Serializer

from irislab.layout import SPECIES_PARTITION
from irislab.record import SPECIES
from irislab.settings.place import group, lab_records, read_to_end, send_all
from irislab.settings.result import Result


class IdAsText(Serializer):
    """The lab producer's key: the id as text (producer1.py's IdSerializer)."""

    def serialize(self, topic, headers, record_id):
        return b"%d" % record_id


class SpeciesPartitioner(DefaultPartitioner):
    """The lab's routing as a partitioner: virginica to partition 0, setosa to 1, and
    versicolor as the key's hash says."""

    def partition(self, topic, key, serialized_key, value, serialized_value, cluster):
        partition = SPECIES_PARTITION[json.loads(value)["species"]][1]
        if partition is None:
            return super().partition(topic, key, serialized_key, value, serialized_value,
                                     cluster)
        return partition


def key_serializer(place):
    """Each flower sent twice with the id as its key, no partition given: with the lab's
    serializer the key is stored as text, and equal keys share a partition; without one,
    an int key is refused before anything is sent."""
    topic = place.topic("key_serializer", partitions=2)
    records = lab_records()
    with place.producer(key_serializer=IdAsText()) as producer:
        for _ in range(2):
            for key, value in records:
                producer.send(topic, key=int(key), value=value)
        producer.flush()
    with place.producer() as producer:
        try:
            producer.send(topic, key=7, value=records[7][1])
            refused = "sent"
        except TypeError:  # kafka-python: "Unsupported type for serialized key"
            refused = "TypeError: not bytes"
    consumer = place.consumer(topic, group_id=None, auto_offset_reset="earliest",
                              enable_auto_commit=False)
    try:
        read = read_to_end(consumer)
    finally:
        consumer.close()
    partitions = {}
    for record in read:
        partitions.setdefault(record.key, set()).add(record.partition)
    one = sum(len(p) == 1 for p in partitions.values())
    stored = next(r.key for r in read if r.key == b"7").decode()
    rows = [("IdAsText() (the lab's)", "7", stored,
             f"{one} of {len(partitions)} keys on one partition"),
            ("None (the default)", "7", refused, "-")]
    return Result("key_serializer", ("key_serializer", "key", "stored key", "equal keys"), rows,
                  f"the serializer turns the key into bytes ({len(read)} records, each id "
                  f"twice); the default partitioner sends equal keys to one partition")


def partitioner(place):
    """The lab's 150 records sent with a key and no partition: where each species lands
    with kafka-python's default partitioner (the key's murmur2 hash) and with one that
    routes as the lab does."""
    rows = []
    for name, chosen in (("DefaultPartitioner() (the default)", None),
                         ("SpeciesPartitioner() (the lab's layout)", SpeciesPartitioner())):
        topic = place.topic("partitioner." + ("default" if chosen is None else "species"),
                            partitions=2)
        config = {} if chosen is None else {"partitioner": chosen}
        with place.producer(**config) as producer:
            send_all(producer, topic, lab_records())
        consumer = place.consumer(group_id=None, auto_offset_reset="earliest",
                                  enable_auto_commit=False)
        consumer.assign([TopicPartition(topic, p) for p in (0, 1)])
        try:
            read = read_to_end(consumer)
        finally:
            consumer.close()
        counts = {(json.loads(r.value)["species"], r.partition): 0 for r in read}
        for r in read:
            counts[json.loads(r.value)["species"], r.partition] += 1
        for partition in (0, 1):
            rows.append((name, partition, *(counts.get((s, partition), 0) for s in SPECIES)))
    return Result("partitioner", ("partitioner", "partition", *SPECIES), rows,
                  "the key's hash spreads every species over both partitions; the lab's "
                  "routing keeps virginica on 0 and setosa on 1")


def group_id(place):
    """Two runs of a consumer in a group, and two without one: a group's committed positions
    make the rerun go on where the first stopped."""
    topic = place.topic("group_id", partitions=2)
    with place.producer() as producer:
        send_all(producer, topic, lab_records())
    rows = []
    for name in (group("group_id"), None):
        runs = []
        for _ in range(2):
            consumer = place.consumer(topic, group_id=name, auto_offset_reset="earliest",
                                      enable_auto_commit=False)
            try:
                runs.append(len(read_to_end(consumer)))
                if name is not None:
                    consumer.commit()
            finally:
                consumer.close()
        if name is None:
            committed = "nothing (no group)"
        else:
            with place.admin() as admin:
                offsets = admin.list_group_offsets({name: None})[name]
            committed = sum(meta.offset for meta in offsets.values())
        rows.append((name or "None (the default)", *runs, committed))
    return Result("group_id", ("group_id", "first run read", "second run read",
                               "offsets committed"), rows,
                  "with a group the rerun goes on from the committed positions and reads 0; "
                  "without one every run starts where auto_offset_reset says")


def consumer_timeout_ms(place):
    """`for message in consumer` over the lab's 150 records: how long after the last record
    the loop ends, for a few consumer_timeout_ms."""
    topic = place.topic("consumer_timeout_ms")
    with place.producer() as producer:
        send_all(producer, topic, lab_records())
    rows = []
    for timeout_ms in (500, 2000, 5000):
        consumer = place.consumer(group_id=None, enable_auto_commit=False,
                                  consumer_timeout_ms=timeout_ms)
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek_to_beginning()
        try:
            read, last = 0, None
            for _ in consumer:
                read, last = read + 1, time.monotonic()
            ended = time.monotonic()
        finally:
            consumer.close()
        rows.append((timeout_ms, read, round(ended - last, 2)))
    return Result("consumer_timeout_ms", ("consumer_timeout_ms", "records read",
                                          "s from the last record to the loop's end"), rows,
                  "the loop ends once no record came for consumer_timeout_ms; by default "
                  "(inf) it waits forever")
