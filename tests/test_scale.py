"""Larger runs: producer1.py --repeat and --summary, consumer.py --exit-at-end and --summary."""

import json
import re
import subprocess

from irislab.broker import jars_dir
from irislab.layout import ROLE_PARTITIONS
from tests.lab import EXPECTED_HOME, SPECIES, consume, landed, produce, reset_topics


def test_repeat_streams_the_same_records_again_each_pass(kafka):
    result = produce(kafka.bootstrap, "--reset-topics", "--repeat", "3", "--summary")
    assert "sent topic=" not in result.stdout  # --summary: no line per record
    assert result.stdout.splitlines()[-1] == (
        "delivered 450 of 450 records sent (versicolor[0] 75, versicolor[1] 75, "
        "virginicasetosa[0] 150, virginicasetosa[1] 150)")
    where = landed(kafka.bootstrap)
    assert sorted(where) == list(range(150))
    for record_id, copies in where.items():
        # three copies of the row, alike, on one partition: the row's
        assert len(copies) == 3 and len({json.dumps(copy) for copy in copies}) == 1
        topic, partition, key, value = copies[0]
        species = SPECIES[record_id]
        assert value["species"] == species and key == str(record_id)
        assert topic == EXPECTED_HOME[species][0] and partition in EXPECTED_HOME[species][1]


def test_exit_at_end_stops_at_the_end_offsets_without_waiting_for_the_timeout(kafka, tmp_path):
    produce(kafka.bootstrap, "--reset-topics", "--repeat", "2", "--summary")
    for role, expected in (("all", 300), ("setosa", 100), ("virginica", 100)):
        # it ends well before the 120 s timeout (else run times out after 100 s and fails)
        result = consume(kafka.bootstrap, role, "--exit-at-end", "--summary", "--timeout-ms",
                         "120000", "--plot-file", tmp_path / "plot.png", timeout=100)
        lines = result.stdout.splitlines()
        assert not [line for line in lines if line.startswith("topic=")]  # --summary
        assert lines[-1] == f"read {expected} records, skipped 0 malformed"
        if role == "all":
            assert "records per species: setosa 100, versicolor 100, virginica 100" in lines
            assert ("records per partition: versicolor[0] 50, versicolor[1] 50, "
                    "virginicasetosa[0] 100, virginicasetosa[1] 100") in lines


def test_exit_at_end_on_empty_topics_ends_at_once(kafka):
    reset_topics(kafka.bootstrap)
    result = consume(kafka.bootstrap, "virginica", "--exit-at-end", "--timeout-ms", "120000",
                     timeout=100)
    assert result.stdout.splitlines()[-1] == "read 0 records, skipped 0 malformed"


def stored_batches(kafka, topic, partition):
    """The record batches of a partition as the broker stored them, listed by Apache Kafka's
    own DumpLogSegments: (records in the batch, its compression codec, its bytes on disk)."""
    segments = sorted(kafka.home.rglob(f"{topic}-{partition}/*.log"))
    out = subprocess.run(["java", "-cp", str(jars_dir(kafka.mode) / "*"),
                          "kafka.tools.DumpLogSegments", "--files", ",".join(map(str, segments))],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    return [(int(count), codec.lower(), int(size)) for count, size, codec in
            re.findall(r"count: (\d+) .*? size: (\d+) .*?compresscodec: (\w+)", out)]


def test_the_producer_stores_gzip_batches_of_many_records(kafka):
    """The producer's throughput settings, seen on the broker's disk."""
    produce(kafka.bootstrap, "--reset-topics", "--repeat", "20", "--summary")
    records = [value for copies in landed(kafka.bootstrap).values() for *_, value in copies]
    json_bytes = sum(len(json.dumps(value)) for value in records)
    batches = [batch for topic, partition in ROLE_PARTITIONS["all"]
               for batch in stored_batches(kafka, topic, partition)]
    assert sum(count for count, _, _ in batches) == len(records) == 3000
    assert {codec for _, codec, _ in batches} == {"gzip"}
    assert len(batches) < 3000 / 10  # many records to a batch
    # the same records take a fraction of the bytes their JSON alone would
    assert sum(size for _, _, size in batches) < json_bytes / 3
