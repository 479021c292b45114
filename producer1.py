"""producer1.py: the lab's producer. It loads the iris data set with pandas and sends each
flower to Kafka as one JSON record, which NumpyEncoder writes from the row's NumPy values.

Each row goes where the lab's layout says (irislab/layout.py):
    virginica  -> virginicasetosa partition 0
    setosa     -> virginicasetosa partition 1
    versicolor -> versicolor, partition = id % 2
The key is the row's id as text. Every delivery is confirmed by the broker (acks=all) and
reported; the exit status is 1 if any record was not delivered.

    python producer1.py [--bootstrap-server HOST:PORT] [--delay SECONDS] [--csv iris.csv]
                        [--reset-topics] [--route-by species|prediction]
                        [--repeat N] [--summary] [--delivery-timeout-ms MS]
"""

import argparse
import json
import sys
import time
from collections import Counter

import numpy as np
from kafka import KafkaProducer
from kafka.serializer import Serializer

from irislab import access, cli
from irislab.admin import Needs, diagnose, ensure_topics
from irislab.dataset import load_iris
from irislab.errors import LabError, run_command
from irislab.heap import freeze_what_is_loaded
from irislab.layout import TOPIC_PARTITIONS, partition_for, partition_label
from irislab.producing import Progress, producer_config, settle
from irislab.record import MEASUREMENTS


class NumpyEncoder(json.JSONEncoder):
    """json.dumps for NumPy values, which plain json refuses: arrays such as a feature row
    Xdat[i], and NumPy numbers such as the np.int64 ids."""

    def default(self, obj):
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        if isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, np.floating):
            return float(obj)
        return super().default(obj)


class IdSerializer(Serializer):
    """The record's key: its id as UTF-8 text."""

    def serialize(self, topic, headers, record_id):
        return b"%d" % record_id


def predict_species(Xdat, species):
    """Train LogisticRegression on the data set and predict each row's species,
    as the original lab's producer did. Returns the predictions and the accuracy."""
    from sklearn.linear_model import LogisticRegression
    model = LogisticRegression(max_iter=1000).fit(Xdat, species)
    predicted = model.predict(Xdat)
    return predicted, float((predicted == species).mean())


def flower_values(Xdat, species, predicted=None):
    """Each flower's record value: its id (an np.int64), its measurements (the NumPy row
    Xdat[i]) and species, as JSON written by NumpyEncoder."""
    values = []
    for record_id, features in zip(np.arange(len(Xdat)), Xdat):
        record = {"id": record_id, **dict(zip(MEASUREMENTS, features)),
                  "species": species[record_id]}
        if predicted is not None:  # --route-by prediction: the species it was routed by
            record["predicted"] = predicted[record_id]
        values.append(json.dumps(record, cls=NumpyEncoder, allow_nan=False).encode("utf-8"))
    return values


class DeliveryReport:
    """What the broker confirmed or refused; its methods run on the producer's I/O thread.
    Once the producer is settled every record is, so delivered = sent - failed."""

    def __init__(self, settings):
        self.failed = []  # the errors, in the order they came
        self.settings = settings

    def explain(self, error):  # a refusal (an ACL, the login) says what to grant
        return access.explain(error, self.settings, "WRITE")

    def delivered(self, record_id, species, metadata):
        print(f"sent topic={metadata.topic} partition={metadata.partition} "
              f"offset={metadata.offset} id={record_id} species={species}", flush=True)

    def not_delivered(self, record_id, error):
        self.failed.append(error)
        print(f"not delivered: id={record_id}: {self.explain(error)}", file=sys.stderr,
              flush=True)

    def failed_quietly(self, error):  # --summary: no line per record
        self.failed.append(error)


def main(args):
    iris = load_iris(args.csv)                   # a pandas DataFrame with the lab's columns
    Xdat = iris[list(MEASUREMENTS)].to_numpy()  # the lab's dataset.values[:, 0:4]
    species = iris["species"].to_numpy()
    route, predicted = species, None
    if args.route_by == "prediction":
        route, accuracy = predict_species(Xdat, species)
        predicted = route
        print(f"LogisticRegression predicts {accuracy:.1%} of the {len(route)} rows it was "
              f"trained on correctly; routing by the prediction")
    settings = cli.client_settings(args)  # the address, and any --client-config
    # the topics exist, and this user may WRITE them: else nothing is sent
    ensure_topics(settings, reset=args.reset_topics,
                  needs=Needs("WRITE", tuple(TOPIC_PARTITIONS)))

    # Each flower is written once, and --repeat sends the same records again.
    values = flower_values(Xdat, species, predicted)
    destinations = [partition_for(name, record_id) for record_id, name in enumerate(route)]

    producer = KafkaProducer(**settings,
                             key_serializer=IdSerializer(),  # the values are bytes already
                             **producer_config(args.delivery_timeout_ms))
    for topic in TOPIC_PARTITIONS:  # asked now, so that no send() stops mid-stream to ask
        producer.partitions_for(topic)
    freeze_what_is_loaded()  # a speed-up for long runs: see irislab/heap.py
    report = DeliveryReport(settings)
    total = len(values) * args.repeat
    sent, interrupted = 0, False
    progress = Progress(total) if args.summary and total >= 10_000 else None
    summary, delay = args.summary, args.delay
    send, failed_quietly = producer.send, report.failed_quietly  # hoisted: once per record
    try:
        for _ in range(args.repeat):  # a pass over the data set
            for record_id, value in enumerate(values):
                topic, partition = destinations[record_id]
                future = send(topic, key=record_id, value=value, partition=partition)
                if summary:  # no per-record callback: large runs spend their time here
                    future.add_errback(failed_quietly)
                else:
                    future.add_callback(report.delivered, record_id, route[record_id])
                    future.add_errback(report.not_delivered, record_id)
                sent += 1
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
        # flush: the last record sent is confirmed or refused within the delivery timeout
        settle(producer, time.monotonic() + args.delivery_timeout_ms / 1000 + 1)

    sent_to = records_per_partition(destinations, sent)
    per_partition = ", ".join(f"{partition_label(t, p)} {n}"
                              for (t, p), n in sorted(sent_to.items()))
    print(f"delivered {sent - len(report.failed)} of {sent} records sent"
          + (f" ({per_partition})" if not report.failed else ""))
    if report.failed:
        first = report.failed[0]
        # the client's errors say what it saw (often only a timeout); the cluster says why,
        # unless the broker refused the client
        why = "" if access.refusal(first, settings, "WRITE") else diagnose(settings, sent_to)
        raise LabError(f"{len(report.failed)} of {sent} records were not delivered "
                       f"(first error: {report.explain(first)})"
                       + (f"; the cluster: {why}" if why else ""))
    return 130 if interrupted else 0


def records_per_partition(destinations, sent):
    """(topic, partition) -> records sent, for the first `sent` records of passes over the
    data set whose records go to `destinations`."""
    passes, rest = divmod(sent, len(destinations))
    counts = Counter({where: n * passes for where, n in Counter(destinations).items()})
    counts.update(destinations[:rest])
    return +counts  # only the partitions that were sent to


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


def build_parser():
    parser = argparse.ArgumentParser(prog="producer1.py",
                                     description="Stream the iris data set into Kafka.")
    cli.add_connection_arguments(parser)
    parser.add_argument("--delay", type=non_negative_seconds, default=0.0,
                        help="seconds to wait between rows (default: 0)")
    parser.add_argument("--repeat", type=cli.positive_int, default=1,
                        help="stream the data set this many times, the same records each "
                             "time (default: 1)")
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
    return parser


if __name__ == "__main__":
    sys.exit(run_command(main, build_parser().parse_args(), "producer1.py"))
