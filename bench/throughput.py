"""Throughput of the lab's pipeline against the clients it is built on, on one local broker.

    .venv/bin/python bench/throughput.py                    # 1,000,000 records, median of 3 runs
    .venv/bin/python bench/throughput.py --records 300000   # fewer records
    .venv/bin/python bench/throughput.py --smoke            # a tiny count, one run (for CI)
    .venv/bin/python bench/throughput.py --mode zookeeper   # Kafka 3.9 instead of 4.x

It starts one broker (irislab.broker.local_broker, a temporary folder, a free port) for the
whole run and stops it at the end. Every variant sends, then reads back, the same number of
records of the same average size, with acks=all:

  ours      python producer1.py --repeat P --summary: data set -> NumPy encoder -> routing ->
            send, P passes over the same 150 records, with a delivery report per record. Then python consumer.py --role all|setosa|
            virginica --summary twice: on the lab's loop (consumer_timeout_ms, `for message in
            consumer`), which ends --timeout-ms after the last record, and with --exit-at-end,
            which stops at the end offsets (role all also saves the plot; setosa and virginica
            read one partition each, a third of the records). The lab topics are reset before
            each producer run, so the consumers read exactly that run's records.
  bare loop kafka-python alone, in a program that imports nothing else, given our settings and
            records as JSON on its command line. Producer: send() in a bare loop over the 150
            flowers' values, encoded once and reused in every pass, a key per record, the same
            topics and partitions: what producer1.py would cost if it did nothing per record
            but send. Consumer: the lab's loop bare (KafkaConsumer(consumer_timeout_ms=T,
            our consumer settings), assign the role's partitions, seek_to_beginning,
            `for message in consumer: n += 1`), ended by the same timeout as ours.
  raw       kafka-python's own kafka.benchmarks.producer_performance / consumer_performance:
            pre-encoded bytes, no key, no JSON: the ceiling for a kafka-python program.
  raw, our settings
            kafka-python's own benchmarks again, with our producer's settings (gzip, 128 KB
            batches, linger 5 ms: irislab.producing.PRODUCER_SETTINGS). Its values are zero bytes,
            which compress even better than our JSON: the tuned client's ceiling.
  Java      Apache Kafka's ProducerPerformance / ConsumerPerformance (kafka-tools jar).
  confluent confluent-kafka (librdkafka), what users would pick instead: a produce() loop
            with a delivery report per record, and an assign()ed consume() loop.

The record count is rounded to whole passes over the 150 flowers (1,000,000 -> 1,000,050).
The record size is the average key + value bytes of the 150 records; raw, Java and confluent
send values of that size and no key.

Figures: "wall s" is the median wall time of the whole command, process start included,
since that is what a user gets (Python imports and a JVM start are a second or two, which
matters at small counts); records/s and MB/s (10^6 bytes of key + value) come from it. A
consumer ended by a timeout (the lab's loop, ours and bare) has that timeout subtracted from
its wall time: it is time spent waiting after the last record, not reading.
"in-process s" is the tool's own timer where it reports one. producer1.py and consumer.py
print none: the start-up line estimates the producer's fixed cost, and the lab loops' role
function is timed in-process (TIMED_LAB_CONSUMER), which leaves out the imports, the topic
check and the role's ending (the plot, the pandas summary). Ratios are ours/other in
records/s, from wall times, and for the lab loops from in-process times as well: below 1
means ours is slower. These are figures to read, not
assertions: nothing here fails on a slow machine.
"""

import argparse
import importlib.util
import json
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
from irislab.dataset import load_iris  # noqa: E402
from irislab.layout import ROLE_PARTITIONS, partition_for  # noqa: E402
from irislab.producing import PRODUCER_SETTINGS, producer_config  # noqa: E402
from irislab.reading import CONSUMER_SETTINGS  # noqa: E402
from irislab.record import MEASUREMENTS  # noqa: E402

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


# The bare loops import kafka-python only; our settings and records come as JSON on argv.

# producer1.py's sending, bare: the 150 flowers' values encoded once and sent again in every
# pass, a key per record (its id as text), the same topics, partitions and settings
BARE_SEND_LOOP = """
import json, sys, time
from kafka import KafkaProducer
bootstrap, passes = sys.argv[1], int(sys.argv[2])
settings = json.loads(sys.argv[3])
flowers = [(topic, partition, value.encode()) for topic, partition, value in json.loads(sys.argv[4])]
start = time.monotonic()
producer = KafkaProducer(bootstrap_servers=bootstrap, **settings)
send, sent = producer.send, 0
for _ in range(passes):
    for record_id, (topic, partition, value) in enumerate(flowers):
        send(topic, key=b"%d" % record_id, value=value, partition=partition)
        sent += 1
producer.flush()
producer.close()
print(f"sent {sent} in {time.monotonic() - start:.3f} s")
"""

# the lab's consumer loop, bare: assign the role's partitions, seek_to_beginning, iterate
# until consumer_timeout_ms passes without a record
BARE_ITERATING_LOOP = """
import json, sys, time
from kafka import KafkaConsumer, TopicPartition
bootstrap, timeout_ms = sys.argv[1], int(sys.argv[2])
settings, partitions = json.loads(sys.argv[3]), json.loads(sys.argv[4])
start = time.monotonic()
consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=timeout_ms, **settings)
consumer.assign([TopicPartition(topic, partition) for topic, partition in partitions])
consumer.seek_to_beginning()
n = 0
for message in consumer:
    n += 1
consumer.close()
print(f"consumed {n} in {time.monotonic() - start:.3f} s")
"""


# consumer.py on the lab's loop, its role's function timed in-process: from building the
# KafkaConsumer to the end of `for message in consumer` (and closing it), the span the bare
# loop's own timer covers; the imports, the topic check and the ending (plot, pandas summary)
# are outside it but inside the wall time
TIMED_LAB_CONSUMER = """
import sys, time
import consumer
args = consumer.parse_args(sys.argv[1:])
lab_consumer = consumer.LAB_CONSUMERS[args.role]
def timed(args):
    start = time.monotonic()
    tally = lab_consumer(args)
    print(f"lab loop: {time.monotonic() - start:.3f} s", file=sys.stderr)
    return tally
consumer.LAB_CONSUMERS[args.role] = timed
sys.exit(consumer.run_command(consumer.main, args, "consumer.py"))
"""


def flower_records():
    """(topic, partition, value) of the 150 flowers, as producer1.py sends them in its first
    pass: the value is the contract's JSON, which plain json writes from Python values just
    as producer1.py's NumpyEncoder does from NumPy ones (tests/test_producer.py checks it).
    Every pass sends each flower to the same partition (150 is even: an id's parity is its
    row's)."""
    iris = load_iris()
    records = []
    for record_id, row in enumerate(iris.itertuples(index=False)):
        record = {"id": record_id, **{m: getattr(row, m) for m in MEASUREMENTS},
                  "species": row.species}
        records.append((*partition_for(row.species, record_id), json.dumps(record)))
    return records


def record_size(flowers):
    """Average key (the id as text) + value bytes of our records: every pass sends the same
    150."""
    return round(sum(len(str(record_id)) + len(value.encode())
                     for record_id, (_, _, value) in enumerate(flowers)) / len(flowers))


def run(cmd, stderr=False):
    """Run a command; its wall time (process start included) and its output (and stderr)."""
    cmd = [str(part) for part in cmd]
    start = time.monotonic()
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    seconds = time.monotonic() - start
    if result.returncode != 0:
        sys.exit(f"bench: failed ({result.returncode}): {' '.join(cmd)}\n"
                 f"{result.stdout[-1500:]}{result.stderr[-1500:]}")
    return (seconds, result.stdout, result.stderr) if stderr else (seconds, result.stdout)


def number(pattern, text):
    return float(re.findall(pattern, text)[-1])


# each measure returns (wall seconds, records confirmed/read, in-process seconds or None)

def ours_producer(bootstrap, passes):
    seconds, out = run([PY, "producer1.py", "--repeat", passes, "--summary",
                        "--bootstrap-server", bootstrap])
    return seconds, number(r"delivered (\d+) of", out), None


def bare_send_loop(bootstrap, passes, flowers):
    seconds, out = run([PY, "-c", BARE_SEND_LOOP, bootstrap, passes,
                        json.dumps(producer_config()), json.dumps(flowers)])
    return seconds, number(r"sent (\d+) in", out), number(r"sent \d+ in ([\d.]+) s", out)


def ours_lab_consumer(bootstrap, role, plot_file, timeout_ms):
    """consumer.py on the lab's loop, which ends timeout_ms after the last record."""
    seconds, out, err = run([PY, "-c", TIMED_LAB_CONSUMER, "--role", role, "--summary",
                             "--timeout-ms", timeout_ms, "--bootstrap-server", bootstrap,
                             "--plot-file", plot_file], stderr=True)
    return (seconds - timeout_ms / 1000, number(r"read (\d+) records", out),
            number(r"lab loop: ([\d.]+) s", err) - timeout_ms / 1000)


def ours_consumer(bootstrap, role, plot_file):
    seconds, out = run([PY, "consumer.py", "--role", role, "--exit-at-end", "--summary",
                        "--bootstrap-server", bootstrap, "--plot-file", plot_file])
    return seconds, number(r"read (\d+) records", out), None


def bare_consumer(bootstrap, role, timeout_ms):
    seconds, out = run([PY, "-c", BARE_ITERATING_LOOP, bootstrap, timeout_ms,
                        json.dumps(CONSUMER_SETTINGS), json.dumps(ROLE_PARTITIONS[role])])
    return (seconds - timeout_ms / 1000, number(r"consumed (\d+)", out),
            number(r"in ([\d.]+) s", out) - timeout_ms / 1000)


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


def one_run(bootstrap, classpath, run_no, n, passes, size, timeout_ms, flowers, tmp, results):
    def measure(variant, expected, fn, *args):
        seconds, records, own = fn(*args)
        if records != expected:
            print(f"warning: {variant} run {run_no}: {records:.0f} records, expected {expected}",
                  file=sys.stderr)
        results.setdefault(variant, []).append((seconds, records, own))
        print(f"  run {run_no}: {variant:<48} {seconds:8.2f} s", file=sys.stderr, flush=True)

    # our fixed cost: interpreter, imports, data set, topic check, connect, 150 records
    measure("ours start-up (--repeat 1)", 150, ours_producer, bootstrap, 1)
    run([PY, "-m", "irislab.admin", "--reset", "--bootstrap-server", bootstrap])
    measure("ours producer1.py", n, ours_producer, bootstrap, passes)
    plot = str(tmp / "plot.png")
    third = n // 3  # setosa and virginica are 50 of each 150 rows
    for role, records in (("all", n), ("setosa", third), ("virginica", third)):
        measure(f"ours consumer.py --role {role}, lab loop", records, ours_lab_consumer,
                bootstrap, role, plot, timeout_ms)
        measure(f"ours consumer.py --role {role} --exit-at-end", records, ours_consumer,
                bootstrap, role, plot)
        measure(f"bare iterating loop, {role}'s partitions", records, bare_consumer,
                bootstrap, role, timeout_ms)
    # the same records again, into the same partitions (after the reads above; the next
    # run's reset clears them)
    measure("bare send loop, 150 values reused", n, bare_send_loop, bootstrap, passes, flowers)

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


def report(results, size, timeout_ms):
    """The medians as a table, then ours/other ratios in records/s."""
    print(f"\n{'variant':<48} {'records':>9} {'wall s':>8} {'records/s':>10} {'MB/s':>7} "
          f"{'in-process s':>12}")
    rate, own_rate = {}, {}
    startup = results.pop("ours start-up (--repeat 1)")
    for variant, runs in results.items():
        seconds = statistics.median(s for s, _, _ in runs)
        records = statistics.median(r for _, r, _ in runs)
        owns = [o for _, _, o in runs if o is not None]
        own = f"{statistics.median(owns):12.2f}" if owns else f"{'-':>12}"
        rate[variant] = records / seconds
        if owns:
            own_rate[variant] = records / statistics.median(owns)
        print(f"{variant:<48} {records:9.0f} {seconds:8.2f} {rate[variant]:10.0f} "
              f"{rate[variant] * size / 1e6:7.2f} {own}")
    print(f"\nthe lab loops (ours and bare) end {timeout_ms} ms after their last record: "
          f"{timeout_ms / 1000:g} s is subtracted from their wall and in-process times")
    print(f"ours start-up: python producer1.py --repeat 1 --summary (150 records) alone takes "
          f"{statistics.median(s for s, _, _ in startup):.2f} s (interpreter, imports, data set, "
          "topic check, connect): part of every 'ours' wall time above")
    print("\nratios, ours / other, records/s (wall time, process start included):")

    def ratio(label, ours, other, rates=rate):
        print(f"  {label:<96} {rates[ours] / rates[other]:6.2f}")
    ratio("producer1.py --summary / bare send loop (150 values reused, a key per record, "
          "our settings)", "ours producer1.py", "bare send loop, 150 values reused")
    for role in ("all", "setosa", "virginica"):
        bare = f"bare iterating loop, {role}'s partitions"
        ratio(f"consumer.py --role {role}, lab loop / bare iterating loop (same partitions, "
              "timeout, settings)", f"ours consumer.py --role {role}, lab loop", bare)
        ratio(f"consumer.py --role {role} --exit-at-end / the same bare iterating loop",
              f"ours consumer.py --role {role} --exit-at-end", bare)
    print("\nratios, ours / bare, records/s (in-process: the lab's loop alone, from building "
          "the consumer to closing it):")
    for role in ("all", "setosa", "virginica"):
        ratio(f"consumer.py --role {role}'s lab loop / bare iterating loop",
              f"ours consumer.py --role {role}, lab loop",
              f"bare iterating loop, {role}'s partitions", own_rate)
    print()
    for side, ours in (("producer", "producer1.py"),
                       ("consumer", "consumer.py --role all --exit-at-end")):
        for other in ("raw kafka-python", "raw kafka-python, our settings", "Java",
                      "confluent-kafka"):
            if f"{other} {side}" in rate:
                ratio(f"{ours} / {other} {side}", f"ours {ours}", f"{other} {side}")
            else:
                print(f"  {ours} / {other} {side}: skipped: confluent-kafka not installed")


def main(args):
    n = args.records if not args.smoke else SMOKE_RECORDS
    runs = args.runs if not args.smoke else 1
    passes = max(1, round(n / 150))
    n = passes * 150
    flowers = flower_records()
    size = record_size(flowers)
    timeout_ms = args.timeout_ms if not args.smoke else min(args.timeout_ms, 2000)
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
            one_run(bootstrap, classpath, run_no, n, passes, size, timeout_ms, flowers,
                    Path(tmp), results)
    report(results, size, timeout_ms)
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
    parser.add_argument("--timeout-ms", type=cli.positive_int, default=5000,
                        help="consumer_timeout_ms of the lab loops, ours and bare; subtracted "
                             "from their times (default: 5000; 2000 with --smoke)")
    parser.add_argument("--smoke", action="store_true",
                        help=f"{SMOKE_RECORDS} records, one run: checks that every variant runs")
    try:
        sys.exit(main(parser.parse_args()))
    except KeyboardInterrupt:
        sys.exit(130)
