"""consumer.py: the lab's three consumers, each reading its partitions from the beginning.

    python consumer.py --role all        every partition of both topics: prints each record,
                                         then saves the sepal scatter plot (--plot-file)
    python consumer.py --role setosa     virginicasetosa partition 1: a table of the setosa
                                         records, a row as each arrives
    python consumer.py --role virginica  virginicasetosa partition 0: every virginica record

Each role assigns its partitions (no consumer group, nothing committed), seeks to the
beginning, and iterates over the batches poll() returns, a batch per partition, until no
record has arrived for --timeout-ms (as consumer_timeout_ms ends an iterating consumer), or
with --exit-at-end once it has read what the partitions held at start. If it stops before
the end (the broker went away), it says the output is incomplete and exits 1.
A record that is not an iris row is skipped with one warning line; the count is reported.
With --summary on a terminal, a progress bar (tqdm) shows the records read and the rate.

With --group NAME a consumer is a member of consumer group NAME: role all subscribes and
the group shares the four partitions among its members (it prints `assigned:` / `revoked:`
when they move); roles setosa and virginica keep their partition. Each starts from the
group's committed position (a new group: the earliest offset) and commits what it has shown.
With --live, role all redraws the plot while the records arrive.
"""

import argparse
import sys
import time
from array import array
from collections import Counter
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from tqdm import tqdm

from irislab import LabError, cli
from irislab.admin import ensure_topics
from irislab.codec import MEASUREMENTS, Malformed, decode_record
from irislab.groups import (HEARTBEAT_INTERVAL_MS, SESSION_TIMEOUT_MS, GroupOffsets,
                            ShowRebalance, leave_on_sigterm)
from irislab.layout import ROLE_PARTITIONS, SPECIES
from irislab.plot import LivePlot, display_available, plot_sepals


# With a group or --live, the read loop wakes up this often, even without records, to commit
# what it has shown and redraw the plot (which itself redraws at most twice a second).
TICK_MS = 250


# Records handed over by one poll(): fewer, larger batches cost less per record (the
# default is 500); still small enough that --group and --live commit and redraw on time.
MAX_POLL_RECORDS = 2000


class Tally:
    """What a consumer read, kept compact so that a million records fit: counts per
    partition, and per species: role all keeps each sepal point (for the plot), the other
    roles only a count."""

    def __init__(self):
        self.per_partition = Counter()
        self.per_species = Counter()
        self.sepals = {species: (array("d"), array("d")) for species in SPECIES}

    @property
    def count(self):
        return sum(self.per_partition.values())

    def species_counts(self):
        return self.per_species + Counter(
            {species: len(lengths) for species, (lengths, _) in self.sepals.items()})

    def summary(self):
        counts = self.species_counts()
        return ("records per partition: " + ", ".join(
                    f"{t}[{p}] {n}" for (t, p), n in sorted(self.per_partition.items()))
                + "\nrecords per species: " + ", ".join(
                    f"{s} {counts[s]}" for s in SPECIES if counts[s]))


def record_line(topic, partition, offset, record):
    values = " ".join(f"{field}={getattr(record, field)}" for field in MEASUREMENTS)
    predicted = f" predicted={record.predicted}" if record.predicted else ""
    return (f"topic={topic} partition={partition} offset={offset} "
            f"id={record.id} species={record.species}{predicted} {values}")


# The setosa role's table, printed a row at a time as the records arrive: fixed widths, wide
# enough for the lab's topic names, offsets up to 8 digits and ids up to 7
TABLE_COLUMNS = (("topic", 15), ("partition", 9), ("offset", 8), ("id", 7),
                 *((field, len(field)) for field in MEASUREMENTS), ("species", 10))
TABLE_HEADER = " ".join(f"{name:>{width}}" for name, width in TABLE_COLUMNS)
TABLE_ROW = " ".join(f"{{:>{width}}}" for _, width in TABLE_COLUMNS)


def table_row(topic, partition, offset, record):
    line = TABLE_ROW.format(topic, partition, offset, record.id,
                            *(getattr(record, field) for field in MEASUREMENTS), record.species)
    return line + (f" predicted={record.predicted}" if record.predicted else "")


def print_warning(text):
    print(text, file=sys.stderr, flush=True)


def progress_warning(progress):
    """Warnings printed above the progress bar, not through it."""
    return lambda text: progress.write(text, file=sys.stderr)


def progress_bar(consumer, tps):
    """--summary on a terminal: a progress bar on stderr (records, rate, and with a known
    total, time left), updated once a batch. None when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return None
    total = None
    if tps:  # --exit-at-end: what is left between each position and its end offset
        ends = consumer.end_offsets(tps)
        total = sum(max(0, end - consumer.position(tp)) for tp, end in ends.items())
    return tqdm(total=total, unit=" records", unit_scale=True, file=sys.stderr,
                dynamic_ncols=True, leave=False)


def ends_to_reach(consumer, tps):
    """(topic, partition) -> end offset, for the partitions whose position is before it."""
    return {(tp.topic, tp.partition): end for tp, end in consumer.end_offsets(list(tps)).items()
            if consumer.position(tp) < end}


def read_records(args, partitions, tally, live=None):
    """Every iris record on the partitions, from the beginning (with --group: from the
    group's committed position) until the timeout (or, with --exit-at-end, until each
    partition's end offset at start), into the tally. Returns the number skipped, and what
    is missing if the partitions were not read to their end."""
    group = args.group
    ticking = group is not None or live is not None
    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap_server,
        group_id=group,                # None: the lab reads all, commits nothing
        enable_auto_commit=False,      # a group commits below, after the records are shown
        auto_offset_reset="earliest",  # a group with no committed position reads everything
        session_timeout_ms=SESSION_TIMEOUT_MS, heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
        max_poll_records=MAX_POLL_RECORDS,
        **cli.CLIENT_SETTINGS,
    )
    offsets = GroupOffsets(consumer) if group else None
    rebalance = progress = None
    skipped, missing, unread = 0, None, None
    tps = [TopicPartition(topic, p) for topic, p in partitions]
    table = args.role == "setosa" and not args.summary
    print_lines = args.role != "setosa" and not args.summary
    sepals = tally.sepals if args.role == "all" else None  # only role all draws the plot
    per_species = tally.per_species
    shown = offsets.shown if offsets else None
    # stop after --timeout-ms without a record; with a group or --live, wake up every tick
    wait_ms = TICK_MS if ticking else args.timeout_ms
    clock = time.monotonic
    try:
        if group and args.role == "all":
            # a member of the group: the group shares the topics' partitions among its members
            rebalance = ShowRebalance(offsets)
            consumer.subscribe(sorted({topic for topic, _ in partitions}), listener=rebalance)
            for topic, _ in partitions:  # the topics' partitions, known before the group is
                consumer.partitions_for_topic(topic)  # joined: else it assigns twice at start
        else:
            consumer.assign(tps)
            if group is None:
                consumer.seek_to_beginning()
            # with a group: from the group's committed position, else the earliest offset
            if args.exit_at_end:
                # (topic, partition) -> its end offset at start, for those not yet read
                unread = (ends_to_reach(consumer, tps) if group else
                          {(tp.topic, tp.partition): end
                           for tp, end in consumer.end_offsets(tps).items() if end > 0})
        if table:
            print(TABLE_HEADER, flush=True)
        if args.summary:
            progress = progress_bar(consumer, tps if unread else None)
        warn = print_warning if progress is None else progress_warning(progress)
        done = unread == {}
        idle_ms = 0
        next_tick = clock() + TICK_MS / 1000
        while not done and idle_ms < args.timeout_ms:
            # a batch per partition; {} once wait_ms pass without a record
            batches = consumer.poll(timeout_ms=wait_ms)
            if not batches:
                idle_ms += wait_ms
            else:
                idle_ms = 0
            for tp, messages in batches.items():
                topic, partition = key = tp.topic, tp.partition
                read = 0
                for message in messages:
                    record = decode_record(message.value)
                    if type(record) is Malformed:
                        skipped += 1
                        warn(f"warning: skipped topic={topic} partition={partition} "
                             f"offset={message.offset}: {record.reason}")
                        continue
                    read += 1
                    if sepals is not None:  # role all: every point, for the plot
                        lengths, widths = sepals[record.species]
                        lengths.append(record.sepal_length)
                        widths.append(record.sepal_width)
                    else:
                        per_species[record.species] += 1
                    if table:
                        print(table_row(topic, partition, message.offset, record), flush=True)
                    elif print_lines:
                        print(record_line(topic, partition, message.offset, record), flush=True)
                tally.per_partition[key] += read
                end = messages[-1].offset + 1
                if shown is not None:  # shown (or skipped): may be committed from now on
                    shown[key] = end
                if unread is not None and end >= unread.get(key, 0):
                    unread.pop(key, None)
                    done = not unread
                if progress is not None:
                    progress.update(len(messages))
            if ticking and clock() >= next_tick:
                next_tick = clock() + TICK_MS / 1000
                if offsets:
                    offsets.commit()  # what the lines above showed
                if live:
                    live.update()
                if rebalance and rebalance.assigned is not None:
                    # the member's partitions changed: wait the timeout anew for their records,
                    # or with --exit-at-end read these to their end offsets now
                    tps, rebalance.assigned = sorted(rebalance.assigned), None
                    idle_ms = 0
                    if args.exit_at_end:
                        unread = ends_to_reach(consumer, tps)
                        done = unread == {}
        if rebalance:
            tps = sorted(consumer.assignment())
        # read to the end offsets seen at start: nothing to ask the broker (which would
        # answer only after the fetch it holds open, up to fetch_max_wait_ms, returns)
        missing = None if unread == {} else unread_partitions(consumer, tps)
    except KeyboardInterrupt:
        print("interrupted: showing what was read so far", file=sys.stderr)
        missing = "interrupted"
    finally:
        if progress is not None:
            progress.close()
        if offsets:
            offsets.commit()
        consumer.close()  # a group member leaves its group: its partitions move at once
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
    if args.group:
        leave_on_sigterm()
    ensure_topics(args.bootstrap_server)  # the lab may start consumers before the producer
    until = ("each partition's end offset" if args.exit_at_end
             else f"{args.timeout_ms / 1000:g} s pass without a record")
    if args.group and args.role == "all":
        reading = (f"member of group {args.group}: reading the partitions the group assigns, "
                   "from its committed positions,")
    else:
        reading = "reading " + ", ".join(f"{t}[{p}]" for t, p in partitions) + (
            f" from group {args.group}'s committed position" if args.group
            else " from the beginning")
    print(f"role {args.role}: {reading} until {until}", flush=True)
    tally = Tally()
    window = display_available()
    live = LivePlot(tally.sepals, args.plot_file, window) if args.live else None
    if live and window and not live.window:
        print("warning: no window toolkit (tkinter), so --live rewrites the plot file",
              file=sys.stderr)
    try:
        skipped, missing = read_records(args, partitions, tally, live)
    finally:
        if live:
            live.close()
    if args.summary:
        print(tally.summary())
    elif args.role == "setosa" and not tally.count:
        print("(no records)")
    if args.role == "all":
        show = args.show and window
        if args.show and not show:
            print("warning: no display, so --show only saves the plot", file=sys.stderr)
        plot_sepals(tally.sepals, args.plot_file, show)
        print(f"saved the sepal plot of {tally.count} records to {args.plot_file}")
    print(f"read {tally.count} records, skipped {skipped} malformed"
          + (" (INCOMPLETE)" if missing else ""))
    if missing == "interrupted":
        return 130
    if missing:
        raise LabError(f"the output above is incomplete: {missing}")
    return 0


def group_name(text):
    """argparse type for a consumer group name."""
    if not text.strip():
        raise argparse.ArgumentTypeError("a group name cannot be empty")
    return text


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
                             "start (with --group: the member's partitions, each time they "
                             "are assigned), without waiting for the timeout (like kcat -e)")
    parser.add_argument("--summary", action="store_true",
                        help="print counts per partition and species instead of every record")
    parser.add_argument("--show", action="store_true",
                        help="role all: also open the plot in a window, when there is a display")
    parser.add_argument("--group", metavar="NAME", type=group_name,
                        help="read as a member of consumer group NAME: role all shares the "
                             "partitions with the group's other members; every role starts "
                             "from the group's committed position (a new group: the earliest "
                             "offset) and commits offsets after the records are shown, never "
                             "before (at-least-once: a member killed in between has its last "
                             "records shown again by the member that takes over)")
    parser.add_argument("--live", action="store_true",
                        help="role all: redraw the plot while records arrive, in a window when "
                             "there is a display, else by rewriting --plot-file every second")
    args = parser.parse_args(argv)
    if args.live and args.role != "all":
        parser.error("--live draws the plot of role all")
    return parser, args


if __name__ == "__main__":
    parser, args = parse_args()
    sys.exit(cli.run(main, args, parser.prog))
