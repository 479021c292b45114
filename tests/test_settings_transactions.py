"""transactional_id and isolation_level on a real broker: what the experiments of
python -m irislab.settings show, checked against the broker with librdkafka (confluent-kafka)
and kcat at both isolation levels."""

import json
import logging
import subprocess
import time

from irislab.settings import transactions
from irislab.settings.place import Place
from tests.lab import SPECIES, kcat_records


def librdkafka_ids(bootstrap, topic, level, timeout=30):
    """The ids a confluent-kafka consumer with isolation.level=`level` reads from the
    topic's partition 0, beginning to end (its end-of-partition event: with transactions
    the last offset is a commit or abort marker, not a record)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "settings-test-reader",
                         "enable.auto.commit": False, "enable.partition.eof": True,
                         "isolation.level": level}, logger=logging.getLogger("librdkafka"))
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        ids, deadline = [], time.monotonic() + timeout
        while True:
            assert time.monotonic() < deadline, f"read {len(ids)} of {topic} in {timeout} s"
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error() is not None:
                assert message.error().code() == KafkaError._PARTITION_EOF, message.error()
                return ids
            ids.append(json.loads(message.value())["id"])
    finally:
        consumer.close()


def kcat_uncommitted_ids(bootstrap, topic):
    out = subprocess.run(["kcat", "-b", bootstrap, "-X", "isolation.level=read_uncommitted",
                          "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q",
                          "-f", "%s\n"], capture_output=True, text=True, timeout=60,
                         check=True).stdout
    return [json.loads(line)["id"] for line in out.splitlines()]


def test_transactional_id_commits_aborts_and_fences(kafka):
    result = transactions.transactional_id(Place(kafka.bootstrap))
    topic = "settings.transactional_id"
    committed = librdkafka_ids(kafka.bootstrap, topic, "read_committed")
    everything = librdkafka_ids(kafka.bootstrap, topic, "read_uncommitted")
    # the committed transaction's setosa only; read_uncommitted also the aborted virginica
    assert {SPECIES[i] for i in committed} == {"setosa"} and len(committed) == 50
    assert sorted(everything) == sorted(i for i, s in enumerate(SPECIES)
                                        if s in ("setosa", "virginica"))
    # kcat reads read_committed by default
    assert [value["id"] for _, _, value in kcat_records(kafka.bootstrap, topic, 0)] == committed
    assert kcat_uncommitted_ids(kafka.bootstrap, topic) == everything
    # the experiment measured the same, at each step
    assert result.column("read_committed reads") == [50, 50, 50]
    assert result.column("read_uncommitted reads") == [50, 100, 100]
    fenced = result.row("fenced")
    assert fenced["send refused with"] == "ProducerFencedError"
    assert "ProducerFencedError" in fenced["commit refused with"]


def test_isolation_level_read_committed_waits_for_the_open_transaction(kafka):
    result = transactions.isolation_level(Place(kafka.bootstrap))
    open_, after_it, committed = (dict(zip(result.columns, row)) for row in result.rows)
    # the open transaction: read_committed stops at its first offset, also for the plain
    # producer's records after it; read_uncommitted reads them all at once
    assert (open_["read_committed has read"], open_["read_uncommitted has read"]) == (0, 50)
    assert (after_it["read_committed has read"], after_it["read_uncommitted has read"]) \
        == (0, 100)
    assert open_["last stable offset"] == after_it["last stable offset"] == 0
    assert after_it["log end offset"] == 100
    # committed: read_committed reads all; the commit marker takes an offset
    assert committed["read_committed has read"] == committed["read_uncommitted has read"] == 100
    assert committed["last stable offset"] == committed["log end offset"] == 101
    # and so do the other clients, now that it is committed
    topic = "settings.isolation_level"
    for level in ("read_committed", "read_uncommitted"):
        ids = librdkafka_ids(kafka.bootstrap, topic, level)
        assert sorted(ids) == [i for i, s in enumerate(SPECIES) if s != "virginica"]
    assert len(kcat_records(kafka.bootstrap, topic, 0)) == 100
