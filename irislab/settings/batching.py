"""Experiments on how a producer groups and compresses records: linger_ms, batch_size,
compression_type. What the producer sent is read back as the broker stored it: its record
batches (one per produce request and partition) and its bytes on disk."""

import time
from statistics import mean

from kafka.protocol.consumer import FetchRequest
from kafka.record import MemoryRecords

from irislab.settings.place import lab_records
from irislab.settings.result import Figure, Result

# the producer's metrics average over its samples; a window longer than any run makes
# records-per-request-avg the average over the whole run
WHOLE_RUN_MS = 600_000
PACE_S = 0.001       # linger_ms: a record about every millisecond, a steady stream
LINGER_RECORDS = 3000
FAST_RECORDS = 5_000
COMPRESSED_RECORDS = 20_000
CODECS = ("none", "gzip", "snappy", "lz4", "zstd")
CODEC_IDS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}  # a batch's attribute bits


def repeated(count):
    """`count` of the lab's records, its 150 rows over and over."""
    records = lab_records()
    return [records[i % len(records)] for i in range(count)]


def produce(place, topic, records, pause=0.0, **config):
    """Send `records` one send() at a time (sleeping `pause` s after each) and wait for every
    ack: (records/s, mean ms from send() to its ack, produce requests as the producer's
    metrics count them)."""
    producer = place.producer(metrics_sample_window_ms=WHOLE_RUN_MS, **config)
    acked_after = []
    try:
        start = time.monotonic()
        futures = []
        for key, value in records:
            sent = time.monotonic()
            future = producer.send(topic, key=key, value=value)
            future.add_callback(lambda _, sent=sent: acked_after.append(time.monotonic() - sent))
            futures.append(future)
            if pause:
                time.sleep(pause)
        producer.flush()
        elapsed = time.monotonic() - start
        for future in futures:
            future.get(timeout=0)  # raises if the broker refused one
        per_request = producer.metrics()["producer-metrics"]["records-per-request-avg"]
    finally:
        producer.close()
    return len(records) / elapsed, 1000 * mean(acked_after), round(len(records) / per_request)


def stored_batches(place, topic, partition=0):
    """(records, codec, bytes) of each record batch of the partition as its leader stores
    it, read with raw Fetch requests: a consumer's records do not say which batch each came
    in. Fetch v12 still names topics (v13 wants their ids)."""
    Partition = FetchRequest.FetchTopic.FetchPartition

    async def fetch(client, leader, offset):
        return await client._manager.send(FetchRequest(
            max_wait_ms=0, min_bytes=1, max_bytes=8 << 20, isolation_level=0,
            topics=[FetchRequest.FetchTopic(topic=topic, partitions=[
                Partition(partition=partition, fetch_offset=offset,
                          partition_max_bytes=8 << 20)])],
            max_version=12), node_id=leader)

    batches = []
    with place.admin() as client:
        [described] = client.describe_topics([topic])
        leader = next(p["leader_id"] for p in described["partitions"]
                      if p["partition_index"] == partition)
        offset, end = 0, None
        while end is None or offset < end:
            response = client._manager.run(fetch, client, leader, offset)
            [data] = response.responses[0].partitions
            assert data.error_code == 0, f"fetch {topic}[{partition}]: error {data.error_code}"
            end = data.high_watermark
            records = MemoryRecords(data.records)
            while (batch := records.next_batch()) is not None:
                batches.append((batch.records_count, CODEC_IDS[batch.compression_type],
                                batch.size_in_bytes))
                offset = batch.next_offset
    return batches


def disk_bytes(place, topic):
    """The bytes the topic's partitions take in the brokers' log directories (every
    replica), as the brokers report them (DescribeLogDirs)."""
    with place.admin() as client:
        return sum(partition["partition_size"]
                   for broker in client.describe_log_dirs([topic])
                   for log_dir in broker["log_dirs"]
                   for described in log_dir["topics"] if described["name"] == topic
                   for partition in described["partitions"])


def batching_run(place, name, records, pause, **config):
    """Send `records` to a fresh topic with `config`: a table row's measured figures."""
    topic = place.topic(name)
    rate, latency, requests = produce(place, topic, records, pause, **config)
    batches = stored_batches(place, topic)
    assert sum(count for count, _, _ in batches) == len(records), (name, len(batches))
    return len(batches), len(records) / len(batches), requests, rate, latency


COLUMNS = ("batches on the broker", "records per batch", "produce requests", "records/s",
           "ms send->ack")


def linger_ms(place):
    """A steady stream of records, a send() about every millisecond: the longer the producer
    lingers, the more records each batch gathers, and the fewer requests carry them, each
    record waiting up to linger_ms longer for its ack."""
    records = repeated(LINGER_RECORDS)
    lingers = (0, 5, 20, 100)
    rows = [(linger,) + batching_run(place, f"linger_ms.{linger}", records, PACE_S,
                                     linger_ms=linger)
            for linger in lingers]
    result = Result("linger_ms", ("linger_ms",) + COLUMNS, rows, "")
    per_batch, latency = result.column("records per batch"), result.column("ms send->ack")
    pace = mean(result.column("records/s"))
    result.finding = (
        f"a steady ~{pace:,.0f} records/s: lingering {lingers[0]} -> {lingers[-1]} ms "
        f"grows the broker's batches from {per_batch[0]:.1f} to {per_batch[-1]:.1f} records "
        f"and cuts the requests from {rows[0][3]:,} to {rows[-1][3]:,}, while each record "
        f"waits longer for its ack ({latency[0]:.1f} -> {latency[-1]:.1f} ms)")
    result.figure = Figure("linger_ms", "records per batch; ms", {
        "records per batch on the broker": list(zip(lingers, per_batch)),
        "mean ms from send() to the ack": list(zip(lingers, latency))})
    return result


def batch_size(place):
    """Records sent as fast as possible with linger_ms=100: a batch is sent when it is full
    (batch_size bytes) or has lingered 100 ms, so a small batch_size makes many small
    batches and requests."""
    records = repeated(FAST_RECORDS)
    sizes = (1024, 16384, 131072)
    rows = [(size,) + batching_run(place, f"batch_size.{size}", records, 0.0,
                                   batch_size=size, linger_ms=100)
            for size in sizes]
    columns = ("batch_size",) + COLUMNS[:4]
    rows = [row[:5] for row in rows]  # latency: lingering blurs it, not batch_size's point
    result = Result("batch_size", columns, rows, "")
    per_batch, rate = result.column("records per batch"), result.column("records/s")
    result.finding = (
        f"{len(records):,} records as fast as possible, linger_ms=100: batch_size "
        f"{sizes[0]:,} -> {sizes[-1]:,} bytes grows the broker's batches from "
        f"{per_batch[0]:.1f} to {per_batch[-1]:.1f} records, the requests fall from "
        f"{rows[0][3]:,} to {rows[-1][3]:,}; the producer sent "
        f"{' / '.join(f'{r:,.0f}' for r in rate)} records/s")
    result.figure = Figure("batch_size (bytes)", "records per batch on the broker",
                           {"records per batch": list(zip(sizes, per_batch))})
    return result


def compression_type(place):
    """The same records with each codec, to a topic each: the bytes the broker keeps on
    disk, and how fast the producer sends them."""
    records = repeated(COMPRESSED_RECORDS)
    rows = []
    for codec in CODECS:
        topic = place.topic(f"compression_type.{codec}")
        rate, _, _ = produce(place, topic, records, compression_type=None if codec == "none"
                             else codec, linger_ms=20)
        stored = {c for _, c, _ in stored_batches(place, topic)}
        assert stored == {codec}, (codec, stored)  # the broker kept the producer's codec
        rows.append((codec, disk_bytes(place, topic), rate))
    rows = [(codec, size, round(size / rows[0][1], 3), rate) for codec, size, rate in rows]
    result = Result("compression_type", ("compression_type", "bytes on the broker's disk",
                                         "of none's", "records/s"), rows, "")
    smallest = min(rows, key=lambda row: row[1])
    result.finding = (
        f"{len(records):,} lab records: uncompressed they take {rows[0][1]:,} bytes on the "
        f"broker; every codec stores them in less, {smallest[0]} in the least "
        f"({smallest[1]:,} bytes, {smallest[2]:.0%} of none's)")
    result.figure = Figure("compression_type", "bytes on the broker's disk",
                           {codec: [(codec, size)] for codec, size, _, _ in rows}, bars=True)
    return result
