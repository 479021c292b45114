"""What consumer.py needs beyond the lab's `for message in consumer` loop.

- `Tally`: what a consumer read, kept compact so that a million records fit: counts per
  partition and species, the skipped records, and the values a role shows at the end.
- `finishing(consumer, tally)`: the lab's loop ends after consumer_timeout_ms without a
  record; this tells whether it had read its partitions to their end, and turns Ctrl-C into
  "show what was read".
- `read_at_scale(consumer_config, settings, tally, show)`: a poll() batch loop, for what the
  lab's loop cannot do: a consumer group that commits what it has shown (--group), a plot
  redrawn while records arrive (--live), stopping at the end offsets (--exit-at-end) and a
  progress bar (--summary).
"""

import sys
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from operator import attrgetter
from typing import Optional

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import InconsistentGroupProtocolError, KafkaError

from irislab.cli import CLIENT_SETTINGS
from irislab.codec import Malformed
from irislab.groups import (ASSIGNORS, HEARTBEAT_INTERVAL_MS, SESSION_TIMEOUT_MS,
                            GroupOffsets, ShowRebalance, assignor_refused)
from irislab.layout import partition_label
from irislab.record import SPECIES
from irislab.progress import progress_bar

# Every consumer's settings beyond the address: poll() hands over up to 2000 records at a
# time (the default is 500; fewer, larger batches cost less per record); with nothing to
# read, the broker answers a fetch after 0.1 s, not 0.5 s, since a request sent meanwhile
# (the end offsets, once the lab's loop ends) waits behind it; and a broker that restarts
# is reconnected to within a second.
CONSUMER_SETTINGS = {"max_poll_records": 2000, "fetch_max_wait_ms": 100, **CLIENT_SETTINGS}

# With a group or --live, the batch loop wakes up this often, even without records, to
# commit what it has shown and redraw the plot.
TICK_MS = 250


def warn(text):
    print(text, file=sys.stderr, flush=True)


class Tally:
    """What a consumer read, kept compact so that a million records fit: how many times it
    read each distinct record on each partition, and the malformed records it skipped, each
    with one warning line. A --repeat run repeats the same 150 flowers, so this stays small;
    counting is one dictionary update a record, since a record's hash is kept with it
    (irislab/codec.py)."""

    def __init__(self):
        self.counts = {}  # (topic, partition, IrisRecord) -> records read
        self.skipped = 0
        self.missing = None  # after reading: why the output is incomplete, or None
        self.warn = warn

    def add(self, message):
        """Count one message; its IrisRecord, or None for a record that is not an iris row
        (skipped with one warning line)."""
        record = message.value
        if type(record) is Malformed:
            self.skipped += 1
            self.warn(f"warning: skipped topic={message.topic} partition={message.partition} "
                      f"offset={message.offset}: {record.reason}")
            return None
        key = message.topic, message.partition, record
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1
        return record

    @property
    def count(self):
        return sum(self.counts.values())

    def per_partition(self):
        """(topic, partition) -> records read."""
        totals = Counter()
        for (topic, partition, _), n in self.counts.items():
            totals[topic, partition] += n
        return totals

    def per_species(self):
        totals = Counter()
        for (_, _, record), n in self.counts.items():
            totals[record.species] += n
        return totals

    def kept(self, species, fields):
        """Some fields of one species' records: (the distinct rows of those fields, how many
        records had each row)."""
        values = attrgetter(*fields)
        rows = Counter()
        for (_, _, record), n in self.counts.items():
            if record.species == species:
                rows[values(record)] += n
        return list(rows), list(rows.values())

    def sepals(self):
        """The plot's data: species -> (distinct (length, width) points, records read)."""
        return {species: (points, sum(counts)) for species in SPECIES
                for points, counts in [self.kept(species, ("sepal_length", "sepal_width"))]}

    def summary(self):
        """--summary's lines: the records per partition and per species."""
        per_species = self.per_species()
        return ("records per partition: " + (", ".join(
                    f"{partition_label(t, p)} {n}" for (t, p), n in sorted(self.per_partition().items()))
                    or "none")
                + "\nrecords per species: " + (", ".join(
                    f"{s} {per_species[s]}" for s in SPECIES if per_species[s]) or "none"))


@contextmanager
def finishing(consumer, tally):
    """Around the lab's loop: on its end, note in the tally whether every partition was read
    to its end offset (tally.missing says what was not); Ctrl-C ends the loop as the timeout
    does, noted as "interrupted"; the consumer is closed either way."""
    try:
        yield
        tally.missing = unread_partitions(consumer, sorted(consumer.assignment()))
    except KeyboardInterrupt:
        print("interrupted: showing what was read so far", file=sys.stderr)
        tally.missing = "interrupted"
    finally:
        consumer.close()


def unread_partitions(consumer, tps):
    """None if every partition was read to its end offset; else what was not. The broker is
    asked: a consumer that cannot reach it cannot know that its output is whole."""
    try:
        ends = consumer.end_offsets(tps, timeout_ms=5000)
        positions = {tp: consumer.position(tp, timeout_ms=5000) for tp in tps}
    except KafkaError as e:
        return f"lost the broker before reading to the end ({e})"
    behind = [f"{partition_label(tp.topic, tp.partition)} at offset {positions[tp]} of {ends[tp]}"
              for tp in tps if positions[tp] < ends[tp]]
    return ("stopped before the end of " + ", ".join(behind)) if behind else None


@dataclass
class ReadSettings:
    """How read_at_scale reads, as consumer.py's flags set it."""
    partitions: list                # [(topic, partition)]: the role's partitions
    timeout_ms: int                 # stop after this long without a record
    exit_at_end: bool = False       # stop at the end offsets the partitions had at start
    group: Optional[str] = None     # read as a member of this consumer group
    subscribe: bool = False         # with a group: let the group assign the topics' partitions
    assignor: str = "range"         # with subscribe: how the group shares them (groups.ASSIGNORS)
    progress: bool = False          # a progress bar on stderr, when it is a terminal
    live: Optional[object] = None   # an object whose update() redraws the plot (--live)


def read_at_scale(consumer_config, settings, tally, show=None,
                  make_consumer=KafkaConsumer):
    """Read the partitions in poll() batches into the tally, calling show(message, record)
    for each iris record: from the beginning, or with a group from its committed positions
    (a new group: the earliest offset); until settings.timeout_ms pass without a record, or
    with exit_at_end until each partition's end offset at start. A group member commits
    what it has shown, never before. Sets tally.missing like finishing()."""
    group, live = settings.group, settings.live
    ticking = group is not None or live is not None
    if group and settings.subscribe:
        consumer_config = {**consumer_config,
                           "partition_assignment_strategy": ASSIGNORS[settings.assignor]}
    consumer = make_consumer(
        **consumer_config,
        group_id=group,                # None: nothing is committed
        enable_auto_commit=False,      # a group commits below, after the records are shown
        auto_offset_reset="earliest",  # a group with no committed position reads everything
        session_timeout_ms=SESSION_TIMEOUT_MS, heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
        **CONSUMER_SETTINGS,
    )
    offsets = GroupOffsets(consumer) if group else None
    rebalance = progress = None
    unread = None  # with exit_at_end: (topic, partition) -> end offset still to reach
    tps = [TopicPartition(topic, p) for topic, p in settings.partitions]
    # stop after timeout_ms without a record; with a group or --live, wake up every tick
    wait_ms = TICK_MS if ticking else settings.timeout_ms
    clock = time.monotonic
    try:
        if group and settings.subscribe:
            rebalance = ShowRebalance(offsets)
            consumer.subscribe(sorted({topic for topic, _ in settings.partitions}),
                               listener=rebalance)
            for topic, _ in settings.partitions:  # the partitions, known before the group is
                consumer.partitions_for_topic(topic)  # joined: else it assigns twice at start
        else:
            consumer.assign(tps)
            if group is None:
                consumer.seek_to_beginning()
            if settings.exit_at_end:
                unread = ends_to_reach(consumer, tps)
        if settings.progress:
            progress = start_progress(consumer, tps if unread else None)
            if progress is not None:  # warnings above the bar, not through it
                tally.warn = lambda text: progress.write(text, file=sys.stderr)
        done = unread == {}
        idle_ms = 0
        next_tick = clock() + TICK_MS / 1000
        while not done and idle_ms < settings.timeout_ms:
            batches = consumer.poll(timeout_ms=wait_ms)  # a batch per partition
            idle_ms = 0 if batches else idle_ms + wait_ms
            for tp, messages in batches.items():
                for message in messages:
                    record = tally.add(message)
                    if record is not None and show is not None:
                        show(message, record)
                key = tp.topic, tp.partition
                end = messages[-1].offset + 1
                if offsets is not None:  # shown (or skipped): may be committed from now on
                    offsets.shown[key] = end
                if unread is not None and end >= unread.get(key, 0):
                    unread.pop(key, None)
                    done = not unread
                if progress is not None:
                    progress.update(len(messages))
            if ticking and clock() >= next_tick:
                next_tick = clock() + TICK_MS / 1000
                if offsets is not None:
                    offsets.commit()  # what show() has shown
                if live is not None:
                    live.update()
                if rebalance is not None and rebalance.changed is not None:
                    # partitions moved: wait the timeout anew for their records, or with
                    # exit_at_end read them to their end offsets now
                    tps, rebalance.changed = sorted(rebalance.changed), None
                    idle_ms = 0
                    if settings.exit_at_end:
                        unread = ends_to_reach(consumer, tps)
                        done = unread == {}
        if rebalance is not None:
            tps = sorted(consumer.assignment())
        # read to the end offsets seen at start: nothing to ask the broker (which would
        # answer only after the fetch it holds open, up to fetch_max_wait_ms, returns)
        tally.missing = None if unread == {} else unread_partitions(consumer, tps)
    except KeyboardInterrupt:
        print("interrupted: showing what was read so far", file=sys.stderr)
        tally.missing = "interrupted"
    except InconsistentGroupProtocolError:
        raise assignor_refused(group, settings.assignor) from None
    finally:
        if progress is not None:
            progress.close()
        if offsets is not None:
            offsets.commit()
        consumer.close()  # a group member leaves its group: its partitions move at once


def ends_to_reach(consumer, tps):
    """(topic, partition) -> end offset, for the partitions whose position is before it."""
    return {(tp.topic, tp.partition): end for tp, end in consumer.end_offsets(list(tps)).items()
            if consumer.position(tp) < end}


def start_progress(consumer, tps):
    """A progress bar; with tps (exit_at_end), its total is what is left to read of them."""
    total = None
    if tps:
        ends = consumer.end_offsets(tps)
        total = sum(max(0, end - consumer.position(tp)) for tp, end in ends.items())
    return progress_bar(total)
