"""Throughput of the lab's pipeline against the clients it is built on, on one local broker.

    .venv/bin/python bench/throughput.py                    # 1,000,000 records, median of 3 runs
    .venv/bin/python bench/throughput.py --records 300000   # fewer records
    .venv/bin/python bench/throughput.py --smoke            # a tiny count, one run (for CI)
    .venv/bin/python bench/throughput.py --mode zookeeper   # Kafka 3.9 instead of 4.x

It starts one broker (irislab.broker.local_broker, a temporary folder, a free port) for the
whole run and stops it at the end. Every variant sends, then reads back, the same number of
records of the same average size, with acks=all:

  ours      python producer1.py --repeat P --summary: data set -> NumPy encoder -> routing ->
            send, with a delivery report per record; then python consumer.py --role all|setosa|
            virginica --exit-at-end --summary (role all also saves the plot; setosa and
            virginica read one partition each, a third of the records). The lab topics are
            reset before each producer run, so the consumers read exactly that run's records.
  bare loop kafka-python's send() in a bare loop over the very records producer1.py sends
            (same keys, JSON values, partitions and settings), encoded before the clock of
            its figures starts: what producer1.py would cost if it did nothing per record but
            send. Its wall time leaves out the encoding (its output says how long that took).
  raw       kafka-python's own kafka.benchmarks.producer_performance / consumer_performance:
            pre-encoded bytes, no key, no JSON: the ceiling for a kafka-python program. And,
            per role, kafka-python alone over that role's partitions (assign, seek, iterate):
            four partitions of two topics cost more per record than the benchmark's two.
  raw, our settings
            kafka-python's own benchmarks again, with our producer's settings (gzip, 128 KB
            batches, linger 5 ms: producer1.PRODUCER_SETTINGS). Its values are zero bytes,
            which compress even better than our JSON: the tuned client's ceiling.
  Java      Apache Kafka's ProducerPerformance / ConsumerPerformance (kafka-tools jar).
  confluent confluent-kafka (librdkafka), what users would pick instead: a produce() loop
            with a delivery report per record, and an assign()ed consume() loop.

The record count is rounded to whole passes over the 150 flowers (1,000,000 -> 1,000,050).
The record size is the average key + value bytes of our records (the ids grow, so it is
computed for this count); raw, Java and confluent send values of that size and no key.

Figures: "wall s" is the median wall time of the whole command, process start included,
since that is what a user gets (Python imports and a JVM start are a second or two, which
matters at small counts); records/s and MB/s (10^6 bytes of key + value) come from it.
"in-process s" is the tool's own timer where it reports one (not producer1.py/consumer.py,
which print none; the start-up line estimates their fixed cost instead). Ratios are
ours/other in records/s: below 1 means ours is slower. These are figures to read, not
assertions: nothing here fails on a slow machine.
"""

import argparse
import importlib.util
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kafka import KafkaAdminClient  # noqa: E402

from irislab import cli  # noqa: E402
from irislab.broker import fetch_jars, kafka_version, local_broker  # noqa: E402
from irislab.codec import encode_key, encode_value  # noqa: E402
from irislab.dataset import load_iris, rows  # noqa: E402
from producer1 import PRODUCER_SETTINGS  # noqa: E402

PY = sys.executable
SMOKE_RECORDS = 3000

# confluent-kafka, run as `python -c` so that it pays for process start like the others
CONFLUENT_PRODUCE = """
import sys, time
from confluent_kafka import Producer
bootstrap, topic, n, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
start = time.monotonic()
producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
failed = []
def on_delivery(err, msg):  # a delivery report for every record, as users write it
    if err is not None:
        failed.append(err)
value = bytes(size)
produce, poll = producer.produce, producer.poll  # hoisted, as in kafka-python's benchmark
for _ in range(n):
    try:
        produce(topic, value, on_delivery=on_delivery)
    except BufferError:  # librdkafka's queue is full: serve delivery reports, then retry
        poll(1)
        produce(topic, value, on_delivery=on_delivery)
    poll(0)
left = producer.flush(60)
print(f"delivered {n - len(failed) - left} in {time.monotonic() - start:.3f} s")
"""

CONFLUENT_CONSUME = """
import sys, time
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
bootstrap, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
start = time.monotonic()
consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench",
                     "enable.auto.commit": False})
consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in (0, 1)])  # no group join
read, last = 0, time.monotonic()
while read < n and time.monotonic() - last < 10:  # 10 s without a record: give up, like the others
    for message in consumer.consume(num_messages=10000, timeout=0.1):
        if message.error() is None:
            read += 1
            last = time.monotonic()
consumer.close()
print(f"consumed {read} in {time.monotonic() - start:.3f} s")
"""


# kafka-python alone over the partitions a role reads: assign, seek_to_beginning, iterate.
# Iterating four partitions of two topics costs more per record than two of one topic
# (kafka-python's own benchmark), so this is the ceiling each role is measured against.
RAW_ROLE_CONSUME = """
import sys, time
from kafka import KafkaConsumer, TopicPartition
from irislab.layout import ROLE_PARTITIONS
bootstrap, role, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
start = time.monotonic()
consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=10000)
consumer.assign([TopicPartition(t, p) for t, p in ROLE_PARTITIONS[role]])
consumer.seek_to_beginning()
read = 0
for message in consumer:
    read += 1
    if read >= n:
        break
consumer.close()
print(f"consumed {read} in {time.monotonic() - start:.3f} s")
"""


# kafka-python alone sending our records, encoded up front: a bare send() loop, the same
# keys, values, partitions and settings as producer1.py --repeat N --summary
BARE_SEND_LOOP = """
import sys, time
from kafka import KafkaProducer
from irislab.codec import encode_key, encode_value
from irislab.dataset import load_iris, rows
from irislab.layout import partition_for
from producer1 import PRODUCER_SETTINGS
bootstrap, passes = sys.argv[1], int(sys.argv[2])
started = time.monotonic()
records = [(*partition_for(row["species"], row["id"]), encode_key(row["id"]), encode_value(row))
           for row in rows(load_iris(), passes)]
encoded = time.monotonic()
producer = KafkaProducer(bootstrap_servers=bootstrap, **PRODUCER_SETTINGS)
send = producer.send
for topic, partition, key, value in records:
    send(topic, key=key, value=value, partition=partition)
producer.flush()
producer.close()
print(f"sent {len(records)} in {time.monotonic() - encoded:.3f} s "
      f"after encoding them in {encoded - started:.3f} s")
"""


def record_size(passes):
    """Average key + value bytes of our records over `passes` passes of the data set.
    Only the id changes between passes, so: the row with id 0, minus its two "0" digits
    (key and value), plus twice the digits of each id."""
    base = [len(encode_key(0)) + len(encode_value({**row, "id": 0})) - 2
            for row in rows(load_iris())]
    n = len(base) * passes
    return round((sum(base) * passes + 2 * sum(len(str(i)) for i in range(n))) / n)


def run(cmd):
    """Run a command; its wall time (process start included) and its output."""
    cmd = [str(part) for part in cmd]
    start = time.monotonic()
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    seconds = time.monotonic() - start
    if result.returncode != 0:
        sys.exit(f"bench: failed ({result.returncode}): {' '.join(cmd)}\n"
                 f"{result.stdout[-1500:]}{result.stderr[-1500:]}")
    return seconds, result.stdout


def number(pattern, text):
    return float(re.findall(pattern, text)[-1])


# each measure returns (wall seconds, records confirmed/read, in-process seconds or None)

def ours_producer(bootstrap, passes):
    seconds, out = run([PY, "producer1.py", "--repeat", passes, "--summary",
                        "--bootstrap-server", bootstrap])
    return seconds, number(r"delivered (\d+) of", out), None


def bare_send_loop(bootstrap, passes):
    seconds, out = run([PY, "-c", BARE_SEND_LOOP, bootstrap, passes])
    # the wall time without the up-front encoding: process start, imports, connect, send
    seconds -= number(r"encoding them in ([\d.]+) s", out)
    return seconds, number(r"sent (\d+) in", out), number(r"sent \d+ in ([\d.]+) s", out)


def ours_consumer(bootstrap, role, plot_file):
    seconds, out = run([PY, "consumer.py", "--role", role, "--exit-at-end", "--summary",
                        "--bootstrap-server", bootstrap, "--plot-file", plot_file])
    return seconds, number(r"read (\d+) records", out), None


def raw_role_consumer(bootstrap, role, n):
    seconds, out = run([PY, "-c", RAW_ROLE_CONSUME, bootstrap, role, n])
    return seconds, number(r"consumed (\d+)", out), number(r"in ([\d.]+) s", out)


def raw_producer(bootstrap, topic, n, size, settings=None):
    settings = settings or {"acks": "all"}  # else kafka-python's defaults
    seconds, out = run([PY, "-m", "kafka.benchmarks.producer_performance",
                        "--bootstrap-servers", bootstrap, "--topic", topic, "--num-records", n,
                        "--record-size", size, "--producer-config",
                        *(f"{k}={v}" for k, v in settings.items())])
    return seconds, number(r"(\d+) suceeded", out), number(r"Execution time: ([\d.]+)", out)


def raw_consumer(bootstrap, topic, n):
    seconds, out = run([PY, "-m", "kafka.benchmarks.consumer_performance",
                        "--bootstrap-servers", bootstrap, "--topic", topic, "--num-records", n])
    return seconds, number(r"Consumed (\d+) records", out), number(r"Execution time: ([\d.]+)", out)


def raw_producer_our_settings(bootstrap, topic, n, size):
    return raw_producer(bootstrap, topic, n, size, PRODUCER_SETTINGS)


def java(classpath, tool, *args):
    return run(["java", "-Xmx512m", "-cp", classpath, f"org.apache.kafka.tools.{tool}", *args])


def java_producer(classpath, bootstrap, topic, n, size):
    seconds, out = java(classpath, "ProducerPerformance", "--topic", topic, "--num-records", n,
                        "--record-size", size, "--throughput", -1, "--producer-props",
                        f"bootstrap.servers={bootstrap}", "acks=all")
    sent = number(r"(\d+) records sent", out)
    return seconds, sent, sent / number(r"records sent, ([\d.]+) records/sec", out)


def java_consumer(classpath, bootstrap, topic, n):
    seconds, out = java(classpath, "ConsumerPerformance", "--bootstrap-server", bootstrap,
                        "--topic", topic, "--messages", n)
    # start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, ...
    fields = out.strip().splitlines()[-1].split(", ")
    read, rate = float(fields[4]), float(fields[5])
    return seconds, read, read / rate if rate else None


def confluent_producer(bootstrap, topic, n, size):
    seconds, out = run([PY, "-c", CONFLUENT_PRODUCE, bootstrap, topic, n, size])
    return seconds, number(r"delivered (\d+)", out), number(r"in ([\d.]+) s", out)


def confluent_consumer(bootstrap, topic, n):
    seconds, out = run([PY, "-c", CONFLUENT_CONSUME, bootstrap, topic, n])
    return seconds, number(r"consumed (\d+)", out), number(r"in ([\d.]+) s", out)


def create_topic(bootstrap, topic):
    with KafkaAdminClient(bootstrap_servers=bootstrap) as admin:
        admin.create_topics({topic: {"num_partitions": 2, "replication_factor": 1}})
        admin.wait_for_topics([topic], timeout_ms=30000)


def delete_topic(bootstrap, topic):
    # a bench topic holds ~100 MB at 1M records: do not keep one per run
    with KafkaAdminClient(bootstrap_servers=bootstrap) as admin:
        admin.delete_topics([topic])


def have_confluent():
    return importlib.util.find_spec("confluent_kafka") is not None


def one_run(bootstrap, classpath, run_no, n, passes, size, tmp, results):
    def measure(variant, expected, fn, *args):
        seconds, records, own = fn(*args)
        if records != expected:
            print(f"warning: {variant} run {run_no}: {records:.0f} records, expected {expected}",
                  file=sys.stderr)
        results.setdefault(variant, []).append((seconds, records, own))
        print(f"  run {run_no}: {variant:<40} {seconds:8.2f} s", file=sys.stderr, flush=True)

    # our fixed cost: interpreter, imports, data set, topic check, connect, 150 records
    measure("ours start-up (--repeat 1)", 150, ours_producer, bootstrap, 1)
    run([PY, "-m", "irislab.admin", "--reset", "--bootstrap-server", bootstrap])
    measure("ours producer1.py", n, ours_producer, bootstrap, passes)
    plot = str(tmp / "plot.png")
    third = n // 3  # setosa and virginica are 50 of each 150 rows
    for role, records in (("all", n), ("setosa", third), ("virginica", third)):
        measure(f"ours consumer.py --role {role}", records, ours_consumer, bootstrap, role, plot)
        measure(f"raw kafka-python, {role}'s partitions", records, raw_role_consumer,
                bootstrap, role, records)
    # the same records again, into the same partitions (after the reads above; the next
    # run's reset clears them)
    measure("bare kafka-python send loop, our records", n, bare_send_loop, bootstrap, passes)

    variants = [("raw kafka-python", raw_producer, raw_consumer, ()),
                ("raw kafka-python, our settings", raw_producer_our_settings, raw_consumer, ()),
                ("Java", java_producer, java_consumer, (classpath,))]
    if have_confluent():
        variants.append(("confluent-kafka", confluent_producer, confluent_consumer, ()))
    for name, producer, consumer, extra in variants:
        topic = f"bench-{'-'.join(re.findall('[a-z]+', name.lower()))}-{run_no}"
        create_topic(bootstrap, topic)
        measure(f"{name} producer", n, producer, *extra, bootstrap, topic, n, size)
        measure(f"{name} consumer", n, consumer, *extra, bootstrap, topic, n)
        delete_topic(bootstrap, topic)


def report(results, size):
    """The medians as a table, then ours/other ratios in records/s."""
    print(f"\n{'variant':<40} {'records':>9} {'wall s':>8} {'records/s':>10} {'MB/s':>7} "
          f"{'in-process s':>12}")
    rate = {}
    startup = results.pop("ours start-up (--repeat 1)")
    for variant, runs in results.items():
        seconds = statistics.median(s for s, _, _ in runs)
        records = statistics.median(r for _, r, _ in runs)
        owns = [o for _, _, o in runs if o is not None]
        own = f"{statistics.median(owns):12.2f}" if owns else f"{'-':>12}"
        rate[variant] = records / seconds
        print(f"{variant:<40} {records:9.0f} {seconds:8.2f} {rate[variant]:10.0f} "
              f"{rate[variant] * size / 1e6:7.2f} {own}")
    print(f"\nours start-up: python producer1.py --repeat 1 --summary (150 records) alone takes "
          f"{statistics.median(s for s, _, _ in startup):.2f} s (interpreter, imports, data set, "
          "topic check, connect): part of every 'ours' wall time above")
    print("\nratios, ours / other, records/s (wall time, process start included):")
    print(f"  producer: ours / bare kafka-python send loop, same records "
          f"{rate['ours producer1.py'] / rate['bare kafka-python send loop, our records']:6.2f}")
    for side, ours in (("producer", "ours producer1.py"), ("consumer", "ours consumer.py --role all")):
        for other in ("raw kafka-python", "raw kafka-python, our settings", "Java",
                      "confluent-kafka"):
            key = f"{other} {side}"
            if key in rate:
                print(f"  {side}: ours / {other:<30} {rate[ours] / rate[key]:6.2f}")
            else:
                print(f"  {side}: ours / {other:<30} skipped: confluent-kafka not installed")
    for role in ("all", "setosa", "virginica"):
        ours, raw = rate[f"ours consumer.py --role {role}"], rate[f"raw kafka-python, {role}'s partitions"]
        print(f"  consumer: ours --role {role:<9} / raw kafka-python, same partitions {ours / raw:6.2f}")


def main(args):
    n = args.records if not args.smoke else SMOKE_RECORDS
    runs = args.runs if not args.smoke else 1
    passes = max(1, round(n / 150))
    n = passes * 150
    size = record_size(passes)
    classpath = str(fetch_jars(args.mode) / "*")
    print(f"Apache Kafka {kafka_version(args.mode)} ({args.mode} mode), one local broker; "
          f"{n} records ({passes} passes over the 150 flowers) of {size} bytes (key + value) "
          f"on average; acks=all; median of {runs} run(s)")
    print("wall s includes process start (Python imports, JVM start): what a user gets")
    if not have_confluent():
        print("confluent-kafka: skipped: confluent-kafka not installed")
    results = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="irislab-bench-") as tmp, \
            local_broker(args.mode, home=Path(tmp) / "broker") as bootstrap:
        print(f"broker on {bootstrap}", file=sys.stderr)
        for run_no in range(1, runs + 1):
            one_run(bootstrap, classpath, run_no, n, passes, size, Path(tmp), results)
    report(results, size)
    print(f"\nthe whole benchmark took {time.monotonic() - started:.0f} s, broker start included")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Throughput of the lab's producer and "
                                     "consumers against kafka-python, Java and confluent-kafka.")
    parser.add_argument("--records", type=cli.positive_int, default=1_000_000,
                        help="records per variant, rounded to whole passes of 150 "
                             "(default: 1000000)")
    parser.add_argument("--runs", type=cli.positive_int, default=3,
                        help="runs per variant; the table shows the median (default: 3)")
    parser.add_argument("--mode", choices=("zookeeper", "kraft"), default="kraft",
                        help="kraft: Kafka 4.x; zookeeper: Kafka 3.9 (default: kraft)")
    parser.add_argument("--smoke", action="store_true",
                        help=f"{SMOKE_RECORDS} records, one run: checks that every variant runs")
    try:
        sys.exit(main(parser.parse_args()))
    except KeyboardInterrupt:
        sys.exit(130)
