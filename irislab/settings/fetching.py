"""Experiments on how a consumer fetches and hands over records: max_poll_records,
fetch_min_bytes (with fetch_max_wait_ms)."""

import threading
import time
from statistics import mean

from kafka import TopicPartition
from kafka.metrics.stats import Count

from irislab.settings.place import lab_records, send_all
from irislab.settings.result import Figure, Result

POLL_RECORDS = 4      # max_poll_records reads the lab's records 4 times over: 600
PACE_S = 0.02         # fetch_min_bytes: the producer sends a record every ~20 ms
WAIT_MS = 500         # fetch_max_wait_ms: how long the broker may hold a fetch
MIN_BYTES = (1, 1024, 4096)
WHOLE_RUN_MS = 600_000  # a metrics window longer than any run: the Count counts them all


def assigned(place, topic, **config):
    """A consumer of the topic's partition 0, without a group (nothing to join or commit)."""
    consumer = place.consumer(enable_auto_commit=False, **config)
    consumer.assign([TopicPartition(topic, 0)])
    return consumer


def max_poll_records(place):
    """Each poll() hands over at most max_poll_records records, whatever the fetch brought:
    with 1 the application needs a poll() per record."""
    topic = place.topic("max_poll_records")
    records = lab_records() * POLL_RECORDS
    producer = place.producer()
    try:
        send_all(producer, topic, records)
    finally:
        producer.close()
    rows = []
    for limit in (1, 10, 500):
        consumer = assigned(place, topic, max_poll_records=limit)
        try:
            consumer.seek_to_beginning()
            sizes, start, deadline = [], time.monotonic(), time.monotonic() + 30
            while sum(sizes) < len(records):
                assert time.monotonic() < deadline, f"read {sum(sizes)} of {len(records)}"
                got = sum(map(len, consumer.poll(timeout_ms=500).values()))
                if got:
                    sizes.append(got)
            elapsed = time.monotonic() - start
        finally:
            consumer.close()
        rows.append((limit, sum(sizes), len(sizes), min(sizes), mean(sizes), max(sizes),
                     elapsed))
    result = Result("max_poll_records",
                    ("max_poll_records", "records read", "poll() calls with records",
                     "fewest per poll", "mean per poll", "most per poll", "seconds"), rows, "")
    calls = result.column("poll() calls with records")
    result.finding = (
        f"reading the same {len(records)} records, no poll() handed over more than "
        f"max_poll_records: {' / '.join(map(str, calls))} poll() calls with "
        f"max_poll_records {' / '.join(str(row[0]) for row in rows)}")
    return result


def fetch_counter(consumer):
    """A count of the consumer's fetch responses. kafka-python 3 has no fetch-total (Java's
    consumer does), only a fetch-rate per window, over the sensor that times each fetch:
    count on that sensor too."""
    metrics = consumer._metrics
    name = metrics.metric_name("fetch-total", "irislab-settings")
    metrics.get_sensor("fetch-latency").add(name, Count())
    return lambda: int(metrics.metrics[name].value())


def paced(place, topic, records, failures):
    """Send `records` one at a time, a record every PACE_S, each in a request of its own."""
    producer = place.producer(linger_ms=0)
    try:
        for key, value in records:
            producer.send(topic, key=key, value=value)
            time.sleep(PACE_S)
        producer.flush()
    except Exception as e:  # the reader sees it: it then misses records
        failures.append(e)
    finally:
        producer.close()


def trickle(place, topic, records, min_bytes):
    """A consumer at the end of the topic while a producer trickles `records` in: (fetch
    responses, ms from each record's timestamp to its receipt)."""
    consumer = assigned(place, topic, fetch_min_bytes=min_bytes, fetch_max_wait_ms=WAIT_MS,
                        metrics_sample_window_ms=WHOLE_RUN_MS)
    failures, latencies = [], []
    producer = threading.Thread(target=paced, args=(place, topic, records, failures))
    try:
        consumer.seek_to_end()
        consumer.position(TopicPartition(topic, 0))  # at the end before anything is sent
        fetches = fetch_counter(consumer)
        before = fetches()
        producer.start()
        deadline = time.monotonic() + 30 + len(records) * PACE_S
        while len(latencies) < len(records):
            assert time.monotonic() < deadline and not failures, (len(latencies), failures)
            for batch in consumer.poll(timeout_ms=100).values():
                now_ms = time.time() * 1000
                latencies.extend(now_ms - record.timestamp for record in batch)
        count = fetches() - before
    finally:
        if producer.is_alive():
            producer.join()  # it ends after its records (or its failure)
        consumer.close()
    return count, latencies


def fetch_min_bytes(place):
    """The broker answers a fetch once it has fetch_min_bytes for it, or fetch_max_wait_ms
    passed: with 1 it answers each record at once, with more it gathers records in fewer
    fetches, each record waiting up to fetch_max_wait_ms."""
    records = lab_records()
    rows, series = [], {}
    for min_bytes in MIN_BYTES:
        topic = place.topic(f"fetch_min_bytes.{min_bytes}")
        fetches, latencies = trickle(place, topic, records, min_bytes)
        rows.append((min_bytes, WAIT_MS, len(latencies), fetches, len(latencies) / fetches,
                     mean(latencies), max(latencies)))
        series[f"fetch_min_bytes={min_bytes}"] = list(enumerate(latencies))
    result = Result("fetch_min_bytes",
                    ("fetch_min_bytes", "fetch_max_wait_ms", "records", "fetches",
                     "records per fetch", "mean ms to receipt", "most ms"), rows, "")
    per_fetch, latency = result.column("records per fetch"), result.column("mean ms to receipt")
    result.finding = (
        f"a record every ~{PACE_S * 1000:g} ms: fetch_min_bytes {MIN_BYTES[0]} -> "
        f"{MIN_BYTES[-1]} takes {rows[0][3]} -> {rows[-1][3]} fetches "
        f"({per_fetch[0]:.1f} -> {per_fetch[-1]:.1f} records each), each record reaching the "
        f"consumer later ({latency[0]:.0f} -> {latency[-1]:.0f} ms on average)")
    result.figure = Figure("record (in the order sent)", "ms from its timestamp to receipt",
                           series)
    return result
