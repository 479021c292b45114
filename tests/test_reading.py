"""The consumers' reading, without a broker: the lab's loop in consumer.py and the batch loop
of irislab/reading.py, run against a stand-in consumer that holds its partitions in memory
and records what it is asked to do."""

import json
import types
from collections import namedtuple

import pytest
from kafka import TopicPartition

import consumer
from tests.lab import SETOSA_SUMMARY
from irislab.codec import Malformed, decode_record
from irislab.reading import ReadSettings, Tally, read_at_scale

pytestmark = pytest.mark.unit

Message = namedtuple("Message", "topic partition offset value")

SETOSA = {"id": 0, "sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4,
          "petal_width": 0.2, "species": "setosa"}


def flower(record_id, species="setosa", sepal_length=5.1):
    return json.dumps({**SETOSA, "id": record_id, "species": species,
                       "sepal_length": sepal_length}).encode()


class StandInConsumer:
    """The part of KafkaConsumer the readers use, over partitions held in memory. Like a
    consumer without a group, it starts at the end of each partition (kafka-python's
    auto_offset_reset default, "latest") unless told otherwise; `arriving` are records
    appended after the first poll, as a producer running meanwhile would."""

    def __init__(self, logs, arriving=None, **config):
        self.config = config
        self.logs = {TopicPartition(*key): list(values) for key, values in logs.items()}
        self.arriving = arriving or {}
        self.calls = []      # the consumer's methods, in the order they were called
        self.positions = {}
        self.committed = []  # each commit: {(topic, partition): offset}
        self.closed = False

    def _messages(self, tp, start, stop):
        deserialize = self.config.get("value_deserializer")
        return [Message(tp.topic, tp.partition, offset,
                        deserialize.deserialize(tp.topic, [], value) if deserialize else value)
                for offset, value in enumerate(self.logs[tp][start:stop], start=start)]

    def assign(self, tps):
        self.calls.append("assign")
        reset = self.config.get("auto_offset_reset", "latest")
        self.positions = {tp: 0 if reset == "earliest" else len(self.logs[tp]) for tp in tps}

    def seek_to_beginning(self, *tps):
        self.calls.append("seek_to_beginning")
        for tp in tps or self.positions:
            self.positions[tp] = 0

    def assignment(self):
        return set(self.positions)

    def position(self, tp, timeout_ms=None):
        return self.positions[tp]

    def end_offsets(self, tps, timeout_ms=None):
        self.calls.append("end_offsets")
        return {tp: len(self.logs[tp]) for tp in tps}


    def poll(self, timeout_ms=0):
        self.calls.append("poll")
        for key, values in self.arriving.items():
            self.logs[TopicPartition(*key)].extend(values)
        self.arriving = {}
        batches = {}
        for tp, position in self.positions.items():
            messages = self._messages(tp, position, position + self.config.get("max_poll_records", 500))
            if messages:
                batches[tp] = messages
                self.positions[tp] = messages[-1].offset + 1
        return batches

    def __iter__(self):
        self.calls.append("iterate")
        while batches := self.poll():
            for messages in batches.values():
                yield from messages
        # nothing more: consumer_timeout_ms would end the iteration here

    def commit(self, offsets, timeout_ms=None):
        self.committed.append({(tp.topic, tp.partition): o.offset for tp, o in offsets.items()})

    def close(self):
        self.closed = True


def lab_args(role, **flags):
    defaults = dict(bootstrap_server="127.0.0.1:9", timeout_ms=10000, summary=False,
                    show=False, plot_file="unused.png", exit_at_end=False, group=None,
                    live=False)
    return types.SimpleNamespace(role=role, **{**defaults, **flags})


@pytest.fixture
def stand_in(monkeypatch):
    """consumer.py's KafkaConsumer replaced by a stand-in over the given partitions."""
    made = []

    def install(logs):
        def make(**config):
            made.append(StandInConsumer(logs, **config))
            return made[-1]
        monkeypatch.setattr(consumer, "KafkaConsumer", make)
        return made
    return install


# -- the lab's loop in consumer.py ---------------------------------------------------------

def test_the_lab_consumer_assigns_seeks_to_the_beginning_then_iterates(stand_in, capsys):
    made = stand_in({("virginicasetosa", 0): [flower(100, "virginica"), flower(101, "virginica")]})
    tally = consumer.consume_virginica(lab_args("virginica", timeout_ms=4321))
    [used] = made
    assert used.config["consumer_timeout_ms"] == 4321  # the lab's consumer_timeout_ms
    assert "group_id" not in used.config                # no group: nothing committed
    assert used.calls[:3] == ["assign", "seek_to_beginning", "iterate"]
    assert used.calls[-1] == "end_offsets"  # it checked with the broker that it read all
    assert used.closed
    assert tally.count == 2
    out = capsys.readouterr().out
    assert "topic=virginicasetosa partition=0 offset=1 id=101 species=virginica" in out


@pytest.mark.parametrize("reset", ["latest", "earliest"])
def test_the_lab_consumer_reads_from_offset_0_whatever_auto_offset_reset_says(reset, monkeypatch):
    """Without seek_to_beginning a consumer with no group starts where auto_offset_reset
    says; the lab's consumer must not depend on it."""
    logs = {("virginicasetosa", 1): [flower(i) for i in range(5)]}
    made = []

    def make(**config):
        made.append(StandInConsumer(logs, **{"auto_offset_reset": reset, **config}))
        return made[-1]
    monkeypatch.setattr(consumer, "KafkaConsumer", make)
    tally = consumer.consume_setosa(lab_args("setosa"))
    assert tally.count == 5
    assert made[0].calls.index("seek_to_beginning") < made[0].calls.index("iterate")


def test_the_lab_consumer_skips_a_bad_record_with_one_warning(stand_in, capsys):
    stand_in({("virginicasetosa", 0): [b"not json", flower(100, "virginica")]})
    tally = consumer.consume_virginica(lab_args("virginica"))
    out, err = capsys.readouterr()
    assert (tally.count, tally.skipped) == (1, 1)
    assert err.startswith("warning: skipped topic=virginicasetosa partition=0 offset=0: not JSON")
    assert "id=100" in out


class BrokerGoneAfterOneRecord(StandInConsumer):
    def __iter__(self):
        self.calls.append("iterate")
        yield from self.poll()[TopicPartition("virginicasetosa", 0)][:1]
        self.positions[TopicPartition("virginicasetosa", 0)] = 1


def test_the_lab_consumer_says_when_it_stopped_before_the_end(monkeypatch):
    logs = {("virginicasetosa", 0): [flower(100, "virginica")] * 3}
    monkeypatch.setattr(consumer, "KafkaConsumer",
                        lambda **config: BrokerGoneAfterOneRecord(logs, **config))
    tally = consumer.consume_virginica(lab_args("virginica"))
    assert tally.missing == "stopped before the end of virginicasetosa[0] at offset 1 of 3"
    with pytest.raises(consumer.LabError, match="incomplete"):
        consumer.finish(lab_args("virginica"), tally)


def test_a_consumer_that_read_nothing_says_why(capsys):
    assert consumer.finish(lab_args("virginica", timeout_ms=10000), Tally()) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == "read 0 records, skipped 0 malformed"
    assert out[-1] == ("nothing arrived within 10 s (--timeout-ms): start this consumer after "
                       "the producer, or raise --timeout-ms")


def test_an_interrupted_consumer_shows_what_it_read_and_exits_130(capsys):
    tally = Tally()
    tally.missing = "interrupted"
    assert consumer.finish(lab_args("virginica"), tally) == 130
    assert capsys.readouterr().out.splitlines()[-1] == "read 0 records, skipped 0 malformed (INCOMPLETE)"


def test_the_setosa_summary_counts_every_record_of_a_repeated_flower(stand_in, capsys):
    stand_in({("virginicasetosa", 1): [flower(0, sepal_length=5.0)] * 3 + [flower(1, sepal_length=6.0)]})
    args = lab_args("setosa", summary=True)
    assert consumer.finish(args, consumer.consume_setosa(args)) == 0
    lines = capsys.readouterr().out.splitlines()
    start = lines.index(SETOSA_SUMMARY)
    table = {row.split()[0]: row.split()[1:] for row in lines[start + 2:start + 7]}
    assert float(table["count"][0]) == 4
    assert float(table["mean"][0]) == 5.25  # (3 x 5.0 + 6.0) / 4
    assert (float(table["min"][0]), float(table["max"][0])) == (5.0, 6.0)


def test_the_setosa_role_sums_up_nothing_when_no_setosa_record_came(stand_in, capsys):
    """Someone else's record on the setosa partition: shown, counted, nothing to describe."""
    stand_in({("virginicasetosa", 1): [flower(0, species="virginica")]})
    args = lab_args("setosa")
    assert consumer.finish(args, consumer.consume_setosa(args)) == 0
    out = capsys.readouterr().out
    assert SETOSA_SUMMARY not in out
    assert out.splitlines()[-1] == "read 1 records, skipped 0 malformed"


# -- the tally -------------------------------------------------------------------------------

def test_the_tally_counts_per_partition_and_species_and_keeps_distinct_sepals():
    tally = Tally()
    for offset, (partition, species, length) in enumerate(
            [(1, "setosa", 5.1), (1, "setosa", 5.1), (0, "virginica", 6.3), (1, "setosa", 4.9)]):
        tally.add(Message("virginicasetosa", partition, offset,
                          decode_record(flower(offset, species, length))))
    assert tally.count == 4
    assert tally.per_partition() == {("virginicasetosa", 1): 3, ("virginicasetosa", 0): 1}
    assert tally.per_species() == {"setosa": 3, "virginica": 1}
    points, records = tally.sepals()["setosa"]
    assert sorted(points) == [(4.9, 3.5), (5.1, 3.5)] and records == 3
    assert tally.sepals()["versicolor"] == ([], 0)
    assert tally.summary() == ("records per partition: virginicasetosa[0] 1, virginicasetosa[1] 3"
                               "\nrecords per species: setosa 3, virginica 1")
    assert Tally().summary() == "records per partition: none\nrecords per species: none"


def test_the_tally_holds_each_distinct_record_once_however_often_it_is_read():
    deserializer = consumer.RecordDeserializer()
    tally = Tally()
    for offset in range(3000):  # 20 passes over 150 flowers, on one partition
        value = flower(offset % 150, sepal_length=4.0 + offset % 150 / 100)
        tally.add(Message("virginicasetosa", 1, offset, deserializer.deserialize("t", [], value)))
    assert tally.count == 3000 and len(tally.counts) == 150
    rows, counts = tally.kept("setosa", ("sepal_length", "petal_width"))
    assert len(rows) == 150 and set(counts) == {20}
    assert (4.0, 0.2) in rows and (5.49, 0.2) in rows


def test_the_tally_skips_a_malformed_record():
    tally = Tally()
    warned = []
    tally.warn = warned.append
    assert tally.add(Message("versicolor", 0, 7, Malformed("empty value"))) is None
    assert (tally.count, tally.skipped) == (0, 1)
    assert warned == ["warning: skipped topic=versicolor partition=0 offset=7: empty value"]


# -- the batch loop beyond the lab -----------------------------------------------------------

def read(logs, settings, show=None, arriving=None):
    made = []

    def make(**config):
        made.append(StandInConsumer(logs, arriving=arriving, **config))
        return made[-1]
    tally = Tally()
    read_at_scale({"value_deserializer": consumer.RecordDeserializer()}, settings, tally, show,
                  make_consumer=make)
    return tally, made[0]


def test_reading_at_scale_stops_after_the_timeout_without_records():
    tally, used = read({("versicolor", 0): [flower(i, "versicolor") for i in range(3000)]},
                       ReadSettings(partitions=[("versicolor", 0)], timeout_ms=500))
    assert tally.count == 3000 and tally.missing is None
    assert used.calls[:5] == ["assign", "seek_to_beginning", "poll", "poll", "poll"]  # 2000, 1000, none
    assert used.closed


def test_exit_at_end_stops_at_the_end_offsets_seen_at_start():
    tally, used = read({("versicolor", 1): [flower(i, "versicolor") for i in range(10)]},
                       ReadSettings(partitions=[("versicolor", 1)], timeout_ms=10000,
                                    exit_at_end=True),
                       arriving={("versicolor", 1): [flower(99, "versicolor")] * 5})
    assert used.calls.count("poll") == 1  # the 10 records there at start, then no wait
    assert tally.missing is None
    # the records that arrived meanwhile came in the same batch: shown, not waited for
    assert tally.count == 15


def test_exit_at_end_on_empty_partitions_reads_nothing_and_does_not_poll():
    tally, used = read({("versicolor", 1): []},
                       ReadSettings(partitions=[("versicolor", 1)], timeout_ms=10000,
                                    exit_at_end=True))
    assert "poll" not in used.calls and tally.count == 0 and tally.missing is None


def test_a_group_member_commits_only_what_it_has_shown():
    """Stopped between poll() and showing a batch, a member must not have committed that
    batch: the member taking over shows it again (at-least-once), none of it is lost."""
    shown = []

    def show(message, record):
        if message.offset == 2500:  # in the second batch (2000 records a batch)
            raise KeyboardInterrupt
        shown.append(message.offset)

    tally, used = read({("virginicasetosa", 0): [flower(i, "virginica") for i in range(3000)]},
                       ReadSettings(partitions=[("virginicasetosa", 0)], timeout_ms=1000,
                                    group="lab"), show=show)
    assert tally.missing == "interrupted"
    committed = max(c[("virginicasetosa", 0)] for c in used.committed)
    assert committed <= 2000 <= len(shown)  # the first batch, shown whole; not the second
    assert used.closed


def test_a_group_member_commits_everything_it_read_when_it_ends():
    tally, used = read({("virginicasetosa", 1): [flower(i) for i in range(120)],
                        ("versicolor", 0): [flower(i, "versicolor") for i in range(30)]},
                       ReadSettings(partitions=[("virginicasetosa", 1), ("versicolor", 0)],
                                    timeout_ms=500, group="lab"))
    last = {}
    for commit in used.committed:
        last.update(commit)
    assert last == {("virginicasetosa", 1): 120, ("versicolor", 0): 30}
    assert "seek_to_beginning" not in used.calls  # a group resumes from its commits
    assert used.config["group_id"] == "lab" and used.config["enable_auto_commit"] is False
