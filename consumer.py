"""consumer.py: the lab's three consumers, each reading its partitions from the beginning.

    python consumer.py --role all        consumer 1: every partition of both topics; prints
                                         each record, then draws the sepal plot (--plot-file)
    python consumer.py --role setosa     consumer 2: virginicasetosa partition 1; a table of
                                         the setosa records, then their summary (pandas)
    python consumer.py --role virginica  consumer 3: virginicasetosa partition 0; prints every
                                         virginica record

Each one is the lab's KafkaConsumer: no consumer group, `assign` its partitions,
`seek_to_beginning`, then `for message in consumer:` until no record has arrived for
--timeout-ms (the lab's consumer_timeout_ms, 10 s). The records' values are decoded by the
consumer's value_deserializer into IrisRecords; a value that is not an iris row is skipped
with one warning line. If the broker went away before a consumer had read its partitions to
their end, it says its output is incomplete and exits 1.

Beyond the lab (irislab/reading.py): --group NAME reads as a member of a consumer group
(with --assignor cooperative, rebalancing cooperatively), --live redraws the plot as records
arrive, --exit-at-end stops at the end offsets, and --summary prints counts instead of every
record (with --exit-at-end, a progress bar on a terminal).
"""

import argparse
import sys
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition

from irislab import access, cli
from irislab.admin import Needs, ensure_topics
from irislab.codec import RecordDeserializer
from irislab.errors import LabError, run_command
from irislab.groups import ASSIGNORS, leave_on_sigterm
from irislab.heap import freeze_what_is_loaded
from irislab.layout import ROLE_PARTITIONS, partition_label
from irislab.plot import LivePlot, display_available, plot_sepals
from irislab.reading import CONSUMER_SETTINGS, ReadSettings, Tally, finishing, read_at_scale
from irislab.record import MEASUREMENTS


# -- the lab's consumers ------------------------------------------------------------------

def lab_consumer(args, role):
    """The lab's KafkaConsumer for a role: its partitions, read from the beginning."""
    consumer = KafkaConsumer(
        **cli.client_settings(args),          # bootstrap_servers, and --client-config's
        consumer_timeout_ms=args.timeout_ms,  # `for message in consumer` ends after this
        value_deserializer=RecordDeserializer(),  # each value: an IrisRecord, or Malformed
        **CONSUMER_SETTINGS,
    )
    consumer.assign([TopicPartition(topic, p) for topic, p in ROLE_PARTITIONS[role]])
    consumer.seek_to_beginning()  # no group, nothing committed: every run reads everything
    print(f"role {role}: reading {partitions_text(role)} from the beginning until "
          f"{args.timeout_ms / 1000:g} s pass without a record", flush=True)
    return consumer


def consume_all(args):
    """Consumer 1: every record of both topics, then the sepal plot."""
    consumer = lab_consumer(args, "all")
    tally = Tally()  # what was read: the plot draws its sepals
    with finishing(consumer, tally):
        for message in consumer:
            record = tally.add(message)  # None: not an iris row, skipped
            if record is not None and not args.summary:
                print(record_line(message, record), flush=True)
    return tally


def consume_setosa(args):
    """Consumer 2: the setosa records as a table, a row as each arrives."""
    consumer = lab_consumer(args, "setosa")
    tally = Tally()  # what was read: summed up at the end
    if not args.summary:
        print(TABLE_HEADER, flush=True)
    with finishing(consumer, tally):
        for message in consumer:
            record = tally.add(message)
            if record is not None and not args.summary:
                print(table_row(message, record), flush=True)
    return tally


def consume_virginica(args):
    """Consumer 3: every virginica record, from the start of its partition."""
    consumer = lab_consumer(args, "virginica")
    tally = Tally()
    with finishing(consumer, tally):
        for message in consumer:
            record = tally.add(message)
            if record is not None and not args.summary:
                print(record_line(message, record), flush=True)
    return tally


LAB_CONSUMERS = {"all": consume_all, "setosa": consume_setosa, "virginica": consume_virginica}


# -- what the consumers print -------------------------------------------------------------

def record_line(message, record):
    values = " ".join(f"{field}={getattr(record, field)}" for field in MEASUREMENTS)
    predicted = f" predicted={record.predicted}" if record.predicted else ""
    return (f"topic={message.topic} partition={message.partition} offset={message.offset} "
            f"id={record.id} species={record.species}{predicted} {values}")


# The setosa table: fixed widths, wide enough for the lab's topic names, offsets up to 8
# digits and ids up to 7, so that the rows line up as they arrive one by one
TABLE_COLUMNS = (("topic", 15), ("partition", 9), ("offset", 8), ("id", 7),
                 *((field, len(field)) for field in MEASUREMENTS), ("species", 10))
TABLE_HEADER = " ".join(f"{name:>{width}}" for name, width in TABLE_COLUMNS)
TABLE_ROW = " ".join(f"{{:>{width}}}" for _, width in TABLE_COLUMNS)


def table_row(message, record):
    line = TABLE_ROW.format(message.topic, message.partition, message.offset, record.id,
                            *(getattr(record, field) for field in MEASUREMENTS), record.species)
    return line + (f" predicted={record.predicted}" if record.predicted else "")


def setosa_summary(tally):
    """The setosa measurements' count, mean, std, min and max, as pandas describes them."""
    import pandas as pd  # only the setosa consumer needs it: the others start faster
    # each distinct row once, with how many records had it
    rows, counts = tally.kept("setosa", MEASUREMENTS)
    distinct = pd.DataFrame(rows, columns=MEASUREMENTS).to_numpy()
    measurements = pd.DataFrame(distinct.repeat(counts, axis=0), columns=MEASUREMENTS)
    return measurements.describe().loc[["count", "mean", "std", "min", "max"]].round(2)


def partitions_text(role):
    return ", ".join(partition_label(t, p) for t, p in ROLE_PARTITIONS[role])


def finish(args, tally):
    """A consumer's ending, whichever way it read: the plot or the summary, then the count."""
    if args.summary:
        print(tally.summary())
    if args.role == "setosa" and tally.per_species()["setosa"]:  # none: nothing to sum up
        print("the setosa measurements, summarised by pandas (describe):")
        print(setosa_summary(tally).to_string())
    if args.role == "all":
        show = args.show and display_available()
        if args.show and not show:
            print("warning: no display, so --show only saves the plot", file=sys.stderr)
        if tally.count:
            plot_sepals(tally.sepals(), args.plot_file, show)
            print(f"saved the sepal plot of {tally.count} records to {args.plot_file}")
        else:  # a rerun that read nothing (a group that had read everything) keeps the plot
            kept = "kept the plot there" if Path(args.plot_file).exists() else "saved none"
            print(f"no records to plot: {kept} ({args.plot_file})")
    print(f"read {tally.count} records, skipped {tally.skipped} malformed"
          + (" (INCOMPLETE)" if tally.missing else ""))
    if not (tally.count or tally.skipped or tally.missing or args.exit_at_end or args.group):
        print(f"nothing arrived within {args.timeout_ms / 1000:g} s (--timeout-ms): start this "
              "consumer after the producer, or raise --timeout-ms")
    if tally.missing == "interrupted":
        return 130
    if tally.missing:
        raise LabError(f"the output above is incomplete: {tally.missing}")
    return 0


# -- beyond the lab: groups, a live plot, reading to the end ------------------------------

def read_beyond_the_lab(args):
    """--group, --live, --exit-at-end: the batch loop of irislab/reading.py, showing each
    record as the lab's consumer of the same role does."""
    if args.group:
        leave_on_sigterm()
        where = (f"member of group {args.group}: reading the partitions the group assigns, "
                 "from its committed positions," if args.role == "all" else
                 f"reading {partitions_text(args.role)} from group {args.group}'s committed "
                 "position")
    else:
        where = f"reading {partitions_text(args.role)} from the beginning"
    until = ("each partition's end offset" if args.exit_at_end
             else f"{args.timeout_ms / 1000:g} s pass without a record")
    print(f"role {args.role}: {where} until {until}", flush=True)
    tally = Tally()
    show = None
    if not args.summary:
        show = {"all": print_record, "setosa": print_table_row,
                "virginica": print_record}[args.role]
        if args.role == "setosa":
            print(TABLE_HEADER, flush=True)
    live = None
    if args.live:
        window = display_available()
        live = LivePlot(tally.sepals, args.plot_file, window)
        if window and not live.window:
            print("warning: no window toolkit (tkinter), so --live rewrites the plot file",
                  file=sys.stderr)
    settings = ReadSettings(
        partitions=ROLE_PARTITIONS[args.role], timeout_ms=args.timeout_ms,
        exit_at_end=args.exit_at_end, group=args.group,
        subscribe=args.group is not None and args.role == "all",
        assignor=args.assignor or "range", progress=args.summary, live=live)
    try:
        read_at_scale({**cli.client_settings(args), "value_deserializer": RecordDeserializer()},
                      settings, tally, show)
    finally:
        if live is not None:
            live.close()
    return tally


def print_record(message, record):
    print(record_line(message, record), flush=True)


def print_table_row(message, record):
    print(table_row(message, record), flush=True)


def main(args):
    if args.role == "all" and not Path(args.plot_file).resolve().parent.is_dir():
        raise LabError(f"cannot save the plot to {args.plot_file}: no such folder")
    settings = cli.client_settings(args)
    # consumers may start before the producer; and this user may READ the role's topics
    # (and its group): else nothing is read
    topics = tuple(dict.fromkeys(topic for topic, _ in ROLE_PARTITIONS[args.role]))
    ensure_topics(settings, needs=Needs("READ", topics, args.group))
    freeze_what_is_loaded()  # a speed-up for long runs: see irislab/heap.py
    with access.refusals_explained(settings, "READ", args.group):  # an ACL changed meanwhile
        if args.group or args.live or args.exit_at_end:
            tally = read_beyond_the_lab(args)
        else:
            tally = LAB_CONSUMERS[args.role](args)
    return finish(args, tally)


def build_parser():
    parser = argparse.ArgumentParser(prog="consumer.py",
                                     description="The lab's consumers: all, setosa, virginica.")
    parser.add_argument("--role", required=True, choices=sorted(LAB_CONSUMERS),
                        help="which of the lab's three consumers to play")
    cli.add_connection_arguments(parser)
    parser.add_argument("--timeout-ms", type=cli.positive_int, default=10000,
                        help="stop after this long without a record: the lab's "
                             "consumer_timeout_ms (default: 10000)")
    parser.add_argument("--plot-file", default="iris_sepal.png",
                        help="role all: where to save the sepal plot (default: iris_sepal.png)")
    parser.add_argument("--summary", action="store_true",
                        help="print counts per partition and species instead of every record "
                             "(with --exit-at-end on a terminal: a progress bar)")
    parser.add_argument("--show", action="store_true",
                        help="role all: also open the plot in a window, when there is a display")
    beyond = parser.add_argument_group("beyond the lab")
    beyond.add_argument("--exit-at-end", action="store_true",
                        help="stop once every partition is read to the end offset it had at "
                             "start (with --group: the member's partitions, each time they "
                             "are assigned), without waiting for the timeout (like kcat -e)")
    beyond.add_argument("--group", metavar="NAME", type=cli.group_name,
                        help="read as a member of consumer group NAME: role all shares the "
                             "partitions with the group's other members; every role starts "
                             "from the group's committed position (a new group: the earliest "
                             "offset) and commits offsets after the records are shown, never "
                             "before (at-least-once)")
    beyond.add_argument("--assignor", choices=sorted(ASSIGNORS),
                        help="with --role all --group: how the group shares the partitions "
                             "when members come and go. range (default): eager rebalancing, "
                             "every member gives back all its partitions each time; "
                             "cooperative: a member gives back only those that move. Every "
                             "member of a group must use the same one")
    beyond.add_argument("--live", action="store_true",
                        help="role all: redraw the plot while records arrive, in a window when "
                             "there is a display, else by rewriting --plot-file every second")
    return parser


def parse_args(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.live and args.role != "all":
        parser.error("--live draws the plot of role all")
    if args.assignor and not (args.group and args.role == "all"):
        parser.error("--assignor chooses how a group shares its partitions among the members "
                     "of role all: use it with --role all --group NAME")
    return args


if __name__ == "__main__":
    sys.exit(run_command(main, parse_args(), "consumer.py"))
