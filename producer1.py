"""producer1.py: stream the iris data set into Kafka, one JSON record per row.

Each row goes where the lab's layout says (irislab/layout.py):
    virginica  -> virginicasetosa partition 0
    setosa     -> virginicasetosa partition 1
    versicolor -> versicolor, partition = id % 2
The key is the row's id as text; the value is the row as JSON, written by NumpyEncoder
(once per flower: the passes of --repeat differ only in the id).
Every delivery is confirmed by the broker (acks=all) and reported; the exit status is 1
if any record was not delivered.

    python producer1.py [--bootstrap-server HOST:PORT] [--delay SECONDS] [--csv iris.csv]
                        [--reset-topics] [--route-by species|prediction]
                        [--repeat N] [--summary]
"""

import argparse
import sys
import time
from collections import Counter

from kafka import KafkaProducer
from kafka.errors import KafkaTimeoutError
from tqdm import tqdm

from irislab import cli
from irislab.errors import LabError, run_command
from irislab.admin import diagnose, ensure_topics
from irislab.codec import FlowerValue, KeySerializer
from irislab.dataset import load_iris, rows
from irislab.layout import partition_for


# acks=all: the broker confirms a record only once it is written; with kafka-python's
# default idempotence, a retry after a lost connection doubles nothing. The rest is for
# throughput (README, "Throughput"): kafka-python checksums every byte it sends and reads in
# pure Python, and gzip makes the JSON many times smaller; fuller batches compress better;
# 5 ms is Apache Kafka 4's own default linger.
PRODUCER_SETTINGS = {"acks": "all", "compression_type": "gzip",
                     "batch_size": 128 * 1024, "linger_ms": 5}


def predict_species(iris):
    """Train LogisticRegression on the data set and predict each row's species,
    as the original lab's producer did. Returns the predictions and the accuracy."""
    from sklearn.linear_model import LogisticRegression
    model = LogisticRegression(max_iter=1000).fit(iris.features, iris.species)
    predicted = model.predict(iris.features)
    return predicted, float((predicted == iris.species).mean())


class DeliveryReport:
    """What the broker refused; its methods run on the producer's I/O thread.
    Once flush() returns every record is settled, so delivered = sent - failed."""

    def __init__(self):
        self.failed = []  # the errors, in the order they came

    def print_delivery(self, record_id, species, metadata):
        print(f"sent topic={metadata.topic} partition={metadata.partition} "
              f"offset={metadata.offset} id={record_id} species={species}", flush=True)

    def record_failed(self, record_id, error):
        self.failed.append(error)
        print(f"not delivered: id={record_id}: {error}", file=sys.stderr, flush=True)

    def failed_quietly(self, error):
        self.failed.append(error)


def main(args):
    iris = load_iris(args.csv)
    route = iris.species
    if args.route_by == "prediction":
        route, accuracy = predict_species(iris)
        print(f"LogisticRegression predicts {accuracy:.1%} of the {len(route)} rows it was "
              f"trained on correctly; routing by the prediction")
    route = route.tolist()  # NumPy strings to Python ones, once rather than per record
    ensure_topics(args.bootstrap_server, reset=args.reset_topics)

    # Each flower's JSON, written once by NumpyEncoder (with the routed species as
    # "predicted" when routing by prediction); a record's value is it with the record's id.
    # Encoding each record whole took 3 us, a seventh of what kafka-python's send() costs.
    flowers = []
    for row, species in zip(rows(iris), route):
        flower = {field: value for field, value in row.items() if field != "id"}
        if args.route_by == "prediction":
            flower["predicted"] = species
        flowers.append((FlowerValue(flower), species))

    producer = KafkaProducer(
        bootstrap_servers=args.bootstrap_server,
        key_serializer=KeySerializer(),  # the id as text; the values are bytes already
        # kafka-python wants the delivery timeout above linger + one request's timeout
        delivery_timeout_ms=args.delivery_timeout_ms,
        request_timeout_ms=min(30000,
                               args.delivery_timeout_ms - PRODUCER_SETTINGS["linger_ms"] - 1),
        **PRODUCER_SETTINGS, **cli.CLIENT_SETTINGS,
    )
    report = DeliveryReport()
    sent_to = Counter()  # (topic, partition) -> records sent
    total, sent, interrupted = len(flowers) * args.repeat, 0, False
    progress = Progress(total) if args.summary and total >= 10_000 else None
    summary, delay = args.summary, args.delay
    send, failed_quietly = producer.send, report.failed_quietly  # hoisted: once per record
    try:
        for first_id in range(0, total, len(flowers)):  # a pass over the data set
            for record_id, (flower, species) in enumerate(flowers, start=first_id):
                topic, partition = partition_for(species, record_id)
                future = send(topic, key=record_id, value=flower.for_id(record_id),
                              partition=partition)
                if summary:  # no per-record callback: large runs spend their time here
                    future.add_errback(failed_quietly)
                else:
                    future.add_callback(report.print_delivery, record_id, species)
                    future.add_errback(report.record_failed, record_id)
                sent_to[topic, partition] += 1
                sent = record_id + 1
                if delay:
                    time.sleep(delay)
            if progress is not None:
                progress.update(sent)
    except KeyboardInterrupt:
        interrupted = True
        print(f"interrupted after sending {sent} of {total} records; "
              "waiting for their deliveries", file=sys.stderr)
    finally:
        if progress is not None:
            progress.close()
        # the last record sent is confirmed or refused within the delivery timeout
        settle(producer, time.monotonic() + args.delivery_timeout_ms / 1000 + 1)

    per_partition = ", ".join(f"{t}[{p}] {n}" for (t, p), n in sorted(sent_to.items()))
    print(f"delivered {sent - len(report.failed)} of {sent} records sent"
          + (f" ({per_partition})" if not report.failed else ""))
    if report.failed:
        # the client's errors say what it saw (often only a timeout); the cluster says why
        why = diagnose(args.bootstrap_server, sent_to)
        raise LabError(f"{len(report.failed)} of {sent} records were not delivered "
                       f"(first error: {report.failed[0]})" + (f"; the cluster: {why}" if why else ""))
    return 130 if interrupted else 0


class Progress:
    """--summary's progress on stderr, updated once a pass over the data set: a tqdm bar
    (records, rate, time left) on a terminal, else a line every 10%."""

    def __init__(self, total):
        self.total, self.shown = total, 0
        self.bar = (tqdm(total=total, unit=" records", unit_scale=True, file=sys.stderr,
                         dynamic_ncols=True, leave=False) if sys.stderr.isatty() else None)
        self.every = max(total // 10, 1)

    def update(self, sent):
        if self.bar is not None:
            self.bar.update(sent - self.shown)
            self.shown = sent
        elif sent // self.every > self.shown // self.every:
            self.shown = sent
            print(f"sent {sent} of {self.total} records ({sent / self.total:.0%})",
                  file=sys.stderr)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def settle(producer, deadline):
    """Wait until the brokers have confirmed or refused every record sent. kafka-python can
    leave a record unsettled past its delivery timeout (a batch for a leader that is down);
    at the deadline the producer is closed by force, which fails what is left: it counts
    as not delivered."""
    while True:
        try:
            # flush's timeout is per batch, so wait in short steps to keep to the deadline
            producer.flush(timeout=0.5)
            break
        except KafkaTimeoutError:
            if time.monotonic() > deadline:
                # close() would flush again first; only its sender thread can abort the rest
                producer._sender.force_close()
                producer._sender.join()
                break
    producer.close()


def non_negative_seconds(text):
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1
    if not 0 <= seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds >= 0")
    return seconds


def milliseconds_from_1000(text):
    if not text.isdigit() or int(text) < 1000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of milliseconds >= 1000")
    return int(text)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Stream the iris data set into Kafka.")
    cli.add_bootstrap_argument(parser)
    parser.add_argument("--delay", type=non_negative_seconds, default=0.0,
                        help="seconds to wait between rows (default: 0)")
    parser.add_argument("--repeat", type=cli.positive_int, default=1,
                        help="stream the data set this many times; ids continue "
                             "(pass * 150 + row) (default: 1)")
    parser.add_argument("--summary", action="store_true",
                        help="no line per record: progress on stderr and the totals")
    parser.add_argument("--delivery-timeout-ms", type=milliseconds_from_1000, default=120000,
                        help="give up on a record the brokers have not confirmed this long "
                             "after it was sent, retries included (default: 120000)")
    parser.add_argument("--csv", help="read a UCI-style iris.csv instead of "
                                      "scikit-learn's bundled copy")
    parser.add_argument("--reset-topics", action="store_true",
                        help="delete and recreate both topics first, for a clean rerun")
    parser.add_argument("--route-by", choices=("species", "prediction"), default="species",
                        help="route by the data set's species (default) or by a "
                             "LogisticRegression's prediction")
    return parser, parser.parse_args(argv)


if __name__ == "__main__":
    parser, args = parse_args()
    sys.exit(run_command(main, args, parser.prog))
