"""consumer.py: the lab's three consumers, each reading its partitions from the beginning.

    python consumer.py --role all        every partition of both topics: prints each record,
                                         then saves the sepal scatter plot (--plot-file)
    python consumer.py --role setosa     virginicasetosa partition 1: a table of the setosa records
    python consumer.py --role virginica  virginicasetosa partition 0: every virginica record

Each role assigns its partitions (no consumer group, nothing committed), seeks to the
beginning, and stops once no record has arrived for --timeout-ms (consumer_timeout_ms), or
with --exit-at-end once it has read what the partitions held at start. If it stops before
the end (the broker went away), it says the output is incomplete and exits 1.
A record that is not an iris row is skipped with one warning line; the count is reported.
"""

import argparse
import os
import sys
from array import array
from collections import Counter
from pathlib import Path
from typing import NamedTuple

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from irislab import LabError, cli
from irislab.admin import ensure_topics
from irislab.codec import MEASUREMENTS, Malformed, decode_value
from irislab.layout import ROLE_PARTITIONS, SPECIES, SPECIES_COLOUR


class Record(NamedTuple):
    topic: str
    partition: int
    offset: int
    row: dict


class Tally:
    """What a consumer read, kept compact so that a million records fit: counts per
    partition and species, the sepal points for the plot, and the records themselves
    only when the setosa table needs them."""

    def __init__(self, keep_records):
        self.per_partition = Counter()
        self.sepals = {species: (array("d"), array("d")) for species in SPECIES}
        self.records = [] if keep_records else None

    def add(self, topic, partition, row):
        self.per_partition[topic, partition] += 1
        lengths, widths = self.sepals[row["species"]]
        lengths.append(row["sepal_length"])
        widths.append(row["sepal_width"])

    @property
    def count(self):
        return sum(self.per_partition.values())

    def summary(self):
        return ("records per partition: " + ", ".join(
                    f"{t}[{p}] {n}" for (t, p), n in sorted(self.per_partition.items()))
                + "\nrecords per species: " + ", ".join(
                    f"{s} {len(lengths)}" for s, (lengths, _) in self.sepals.items() if lengths))


def record_line(record):
    row = record.row
    values = " ".join(f"{field}={row[field]}" for field in MEASUREMENTS)
    predicted = f" predicted={row['predicted']}" if "predicted" in row else ""
    return (f"topic={record.topic} partition={record.partition} offset={record.offset} "
            f"id={row['id']} species={row['species']}{predicted} {values}")


def setosa_table(records):
    import pandas as pd
    table = pd.DataFrame([{"topic": r.topic, "partition": r.partition, "offset": r.offset, **r.row}
                          for r in records])
    return table.to_string(index=False) if records else "(no records)"


def plot_sepals(tally, path, show=False):
    """Sepal length against sepal width, one colour per species."""
    import matplotlib
    import numpy as np
    if not show:
        matplotlib.use("Agg")  # draw to a file; no window, no display needed
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 5))
    for species, (lengths, widths) in tally.sepals.items():
        if lengths:
            # identical points draw the same: --repeat runs need 150 markers, not millions
            points = np.unique(np.column_stack([lengths, widths]), axis=0)
            ax.scatter(points[:, 0], points[:, 1], color=SPECIES_COLOUR[species],
                       label=f"{species} ({len(lengths)})")
    ax.set_xlabel("sepal length (cm)")
    ax.set_ylabel("sepal width (cm)")
    ax.set_title(f"Iris sepals: {tally.count} records read from Kafka")
    if tally.count:
        ax.legend(title="species")
    try:
        fig.savefig(path, dpi=100)
    except OSError as e:
        raise LabError(f"cannot save the plot to {path}: {e.strerror or e}") from None
    if show:
        plt.show()
    plt.close(fig)


def read_records(args, partitions, tally):
    """Every iris record on the partitions, from the beginning until the timeout (or, with
    --exit-at-end, until each partition's end offset at start), into the tally. Returns
    the number skipped, and what is missing if the partitions were not read to their end."""
    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap_server,
        group_id=None, enable_auto_commit=False,  # the lab reads all, commits nothing
        consumer_timeout_ms=args.timeout_ms,      # stop after this long without a record
        **cli.CLIENT_SETTINGS,
    )
    skipped, missing = 0, None
    tps = [TopicPartition(topic, p) for topic, p in partitions]
    print_lines = args.role != "setosa" and not args.summary
    add = tally.add  # hoisted: the loop runs once per record
    keep = tally.records is not None
    try:
        consumer.assign(tps)
        consumer.seek_to_beginning()
        # --exit-at-end: (topic, partition) -> its end offset at start, for those not yet read
        unread = {(tp.topic, tp.partition): end for tp, end in consumer.end_offsets(tps).items()
                  if end > 0} if args.exit_at_end else None
        for message in consumer if unread != {} else ():
            row = decode_value(message.value)
            if type(row) is Malformed:
                skipped += 1
                print(f"warning: skipped topic={message.topic} partition={message.partition} "
                      f"offset={message.offset}: {row.reason}", file=sys.stderr, flush=True)
            else:
                add(message.topic, message.partition, row)
                if keep or print_lines:
                    record = Record(message.topic, message.partition, message.offset, row)
                    if keep:
                        tally.records.append(record)
                    if print_lines:
                        print(record_line(record), flush=True)
            if unread is not None:
                key = message.topic, message.partition
                if message.offset + 1 >= unread.get(key, 0):
                    unread.pop(key, None)
                    if not unread:
                        break
        # read to the end offsets seen at start: nothing to ask the broker (which would
        # answer only after the fetch it holds open, up to fetch_max_wait_ms, returns)
        missing = None if unread == {} else unread_partitions(consumer, tps)
    except KeyboardInterrupt:
        print("interrupted: showing what was read so far", file=sys.stderr)
        missing = "interrupted"
    finally:
        consumer.close()
    return skipped, missing


def unread_partitions(consumer, tps):
    """None if every partition was read to its end offset; else what was not."""
    try:
        ends = consumer.end_offsets(tps, timeout_ms=5000)
        positions = {tp: consumer.position(tp, timeout_ms=5000) for tp in tps}
        behind = [f"{tp.topic}[{tp.partition}] at offset {positions[tp]} of {ends[tp]}"
                  for tp in tps if positions[tp] < ends[tp]]
    except KafkaError as e:
        return f"lost the broker before reading to the end ({e})"
    return ("stopped before the end of " + ", ".join(behind)) if behind else None


def main(args):
    partitions = ROLE_PARTITIONS[args.role]
    if args.role == "all" and not Path(args.plot_file).resolve().parent.is_dir():
        raise LabError(f"cannot save the plot to {args.plot_file}: no such folder")
    ensure_topics(args.bootstrap_server)  # the lab may start consumers before the producer
    until = ("each partition's end offset" if args.exit_at_end
             else f"{args.timeout_ms / 1000:g} s pass without a record")
    print(f"role {args.role}: reading " + ", ".join(f"{t}[{p}]" for t, p in partitions)
          + f" from the beginning until {until}", flush=True)
    tally = Tally(keep_records=args.role == "setosa" and not args.summary)
    skipped, missing = read_records(args, partitions, tally)
    if args.summary:
        print(tally.summary())
    elif args.role == "setosa":
        print(setosa_table(tally.records))
    if args.role == "all":
        show = args.show and bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
        if args.show and not show:
            print("warning: no display, so --show only saves the plot", file=sys.stderr)
        plot_sepals(tally, args.plot_file, show)
        print(f"saved the sepal plot of {tally.count} records to {args.plot_file}")
    print(f"read {tally.count} records, skipped {skipped} malformed"
          + (" (INCOMPLETE)" if missing else ""))
    if missing == "interrupted":
        return 130
    if missing:
        raise LabError(f"the output above is incomplete: {missing}")
    return 0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="The lab's consumers: all, setosa, virginica.")
    parser.add_argument("--role", required=True, choices=sorted(ROLE_PARTITIONS),
                        help="which of the lab's three consumers to play")
    cli.add_bootstrap_argument(parser)
    parser.add_argument("--timeout-ms", type=cli.positive_int, default=10000,
                        help="stop after this long without a record (default: 10000)")
    parser.add_argument("--plot-file", default="iris_sepal.png",
                        help="role all: where to save the sepal plot (default: iris_sepal.png)")
    parser.add_argument("--exit-at-end", action="store_true",
                        help="stop once every partition is read to the end offset it had at "
                             "start, without waiting for the timeout (like kcat -e)")
    parser.add_argument("--summary", action="store_true",
                        help="print counts per partition and species instead of every record")
    parser.add_argument("--show", action="store_true",
                        help="role all: also open the plot in a window, when there is a display")
    return parser, parser.parse_args(argv)


if __name__ == "__main__":
    parser, args = parse_args()
    sys.exit(cli.run(main, args, parser.prog))
