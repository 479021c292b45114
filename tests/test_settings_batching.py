"""linger_ms, batch_size and compression_type on a real broker: what the experiments of
python -m irislab.settings show, checked against the broker's own files (Apache Kafka's
DumpLogSegments) and, for the compressed topics, read back by kcat."""

import json
import re
import subprocess
from collections import defaultdict

from matplotlib import image

from irislab.broker import jars_dir
from irislab.settings import batching
from irislab.settings.place import Place
from irislab.settings.result import save_figure
from tests.lab import kcat_records


def dumped_batches(kafka, topics):
    """topic -> (records, codec, bytes) of each batch of its partition 0, as Apache Kafka's
    DumpLogSegments reads the broker's segment files (one JVM for every topic)."""
    segments = [path for topic in topics for path in sorted(kafka.home.rglob(f"{topic}-0/*.log"))]
    out = subprocess.run(["java", "-cp", str(jars_dir(kafka.mode) / "*"),
                          "kafka.tools.DumpLogSegments", "--files", ",".join(map(str, segments))],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    batches, topic = defaultdict(list), None
    for line in out.splitlines():
        dumping = re.match(r"Dumping .*/([^/]+)-0/\d+\.log", line)
        if dumping:
            topic = dumping.group(1)
        found = re.search(r"count: (\d+) .*? size: (\d+) .*?compresscodec: (\w+)", line)
        if found:
            count, size, codec = found.groups()
            batches[topic].append((int(count), codec.lower(), int(size)))
    return batches


def assert_drawn(result, path):
    """--plot's picture of the result: saved, and not blank."""
    save_figure(result, path)
    assert (image.imread(path)[..., :3] < 0.5).any()


def test_linger_ms_gathers_more_records_per_batch_in_fewer_requests(kafka, tmp_path):
    result = batching.linger_ms(Place(kafka.bootstrap))
    on_disk = dumped_batches(kafka, [f"settings.linger_ms.{linger}" for linger in (0, 100)])
    for linger in (0, 100):
        row = result.row(linger)
        batches = on_disk[f"settings.linger_ms.{linger}"]
        assert sum(count for count, _, _ in batches) == batching.LINGER_RECORDS
        assert row["batches on the broker"] == len(batches)
        # one partition: each produce request carried one batch (the producer's metrics)
        assert row["produce requests"] == len(batches)
    per_batch = result.column("records per batch")  # linger_ms 0, 5, 20, 100
    assert per_batch[0] < per_batch[2] < per_batch[3]
    assert per_batch[3] > 5 * per_batch[0]
    assert result.row(100)["produce requests"] < result.row(0)["produce requests"] / 5
    # --plot draws the table's figures
    assert result.figure.series["records per batch on the broker"] == list(
        zip(result.column("linger_ms"), per_batch))
    assert_drawn(result, tmp_path / "linger_ms.png")


def test_batch_size_caps_the_bytes_of_a_batch(kafka):
    result = batching.batch_size(Place(kafka.bootstrap))
    sizes = (1024, 16384, 131072)
    on_disk = dumped_batches(kafka, [f"settings.batch_size.{size}" for size in sizes])
    largest = {}
    for size in sizes:
        batches = on_disk[f"settings.batch_size.{size}"]
        assert sum(count for count, _, _ in batches) == batching.FAST_RECORDS
        assert result.row(size)["batches on the broker"] == len(batches)
        largest[size] = max(nbytes for _, _, nbytes in batches)
    assert largest[1024] <= 1024 and largest[16384] <= 16384
    assert largest[131072] > 16384  # bigger batches than the default allows
    per_batch = result.column("records per batch")
    assert per_batch[1] > 5 * per_batch[0] and per_batch[2] > 1.5 * per_batch[1]
    requests = result.column("produce requests")
    assert requests[0] > 5 * requests[1] and requests[1] > requests[2]


def test_compression_type_stores_fewer_bytes_with_every_codec(kafka, tmp_path):
    result = batching.compression_type(Place(kafka.bootstrap))
    topics = {codec: f"settings.compression_type.{codec}" for codec in batching.CODECS}
    on_disk = dumped_batches(kafka, topics.values())
    sent = batching.repeated(batching.COMPRESSED_RECORDS)
    for codec, topic in topics.items():
        batches = on_disk[topic]
        assert {c for _, c, _ in batches} == {codec}  # the broker kept the producer's codec
        # the bytes the experiment reports are the batches' in the segment files
        assert result.row(codec)["bytes on the broker's disk"] == sum(n for _, _, n in batches)
        # kcat decompresses every record back intact
        assert [(key, value) for _, key, value in kcat_records(kafka.bootstrap, topic, 0)] == \
            [(key.decode(), json.loads(value)) for key, value in sent]
    none = result.row("none")["bytes on the broker's disk"]
    for codec in batching.CODECS[1:]:
        assert result.row(codec)["bytes on the broker's disk"] < none / 2
    assert result.figure.bars and {codec: points[0][1] for codec, points in
                                   result.figure.series.items()} == dict(
        zip(result.column("compression_type"), result.column("bytes on the broker's disk")))
    assert_drawn(result, tmp_path / "compression_type.png")
