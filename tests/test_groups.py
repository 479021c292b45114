"""consumer.py --group: the lab's group_id answer seen live, on a real broker. Two members
share the partitions, a killed member's partitions move to the survivor, a rerun of a group
reads only what is new; and the setosa table grows while the lab streams."""

import re
import signal
import subprocess
import sys
import time
import uuid

from kafka import KafkaConsumer, TopicPartition

from conftest import ROOT, wait_for
from test_lab import RECORD_LINE, SPECIES, produce, reset_topics

LAB_PARTITIONS = {("virginicasetosa", 0), ("virginicasetosa", 1), ("versicolor", 0),
                  ("versicolor", 1)}
ASSIGNMENT = re.compile(r"^(assigned|revoked): (.*)$")


def new_group():
    return f"g-{uuid.uuid4().hex[:8]}"


def start_consumer(kafka, out_file, *args):
    """consumer.py with its output going to a file, which the test reads while it runs."""
    return subprocess.Popen(
        [sys.executable, "consumer.py", "--bootstrap-server", kafka.bootstrap, *map(str, args)],
        cwd=ROOT, stdout=out_file.open("w"), stderr=subprocess.PIPE, text=True)


def partitions_of(line):
    """{(topic, partition)} from 'assigned: virginicasetosa[0], versicolor[1]'."""
    return {(t, int(p)) for t, p in re.findall(r"(\w+)\[(\d+)\]", line)}


def assignments(text):
    """[(assigned|revoked, {(topic, partition)}), ...] in the order printed."""
    return [(m[1], partitions_of(m[2])) for m in map(ASSIGNMENT.match, text.splitlines()) if m]


def records(text):
    """[(topic, partition, offset, id)] of the record lines, in order; species checked."""
    shown = []
    for m in map(RECORD_LINE.match, text.splitlines()):
        if m:
            assert SPECIES[int(m[4]) % 150] == m[5]
            shown.append((m[1], int(m[2]), int(m[3]), int(m[4])))
    return shown


def held(text):
    """The partitions a member holds after the lines printed so far."""
    now = set()
    for kind, parts in assignments(text):
        now = parts if kind == "assigned" else now - parts
    return now


def committed(kafka, group):
    probe = KafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=group)
    try:
        return {(t, p): probe.committed(TopicPartition(t, p)) for t, p in LAB_PARTITIONS}
    finally:
        probe.close()


def two_members(kafka, tmp_path, names, timeout_ms):
    """Fresh lab topics and two `--role all` members of a new group, once both hold some
    partitions, the two sets together covering all four. Returns (group, outputs, processes)."""
    reset_topics(kafka)
    group = new_group()
    outs = [tmp_path / f"{name}.txt" for name in names]
    members = [start_consumer(kafka, out, "--role", "all", "--group", group, "--timeout-ms",
                              str(timeout_ms), "--plot-file", tmp_path / f"{out.stem}.png")
               for out in outs]
    wait_for(lambda: all(held(out.read_text()) for out in outs)
             and held(outs[0].read_text()) | held(outs[1].read_text()) == LAB_PARTITIONS,
             60, "the group to share the partitions")
    return group, outs, members


def test_two_members_share_the_partitions_and_show_each_row_once(kafka, tmp_path):
    group, outs, members = two_members(kafka, tmp_path, ("a", "b"), timeout_ms=6000)
    a_held, b_held = (held(out.read_text()) for out in outs)
    assert not a_held & b_held
    produce(kafka)
    wait_for(lambda: len(records(outs[0].read_text()) + records(outs[1].read_text())) >= 150,
             60, "all the records")

    # SIGTERM: the member leaves the group at once, well before the 10 s session timeout
    stopped = time.monotonic()
    members[0].send_signal(signal.SIGTERM)
    wait_for(lambda: held(outs[1].read_text()) == LAB_PARTITIONS, 5,
             "the other member to take the partitions over")
    assert time.monotonic() - stopped < 5
    _, err = members[0].communicate(timeout=30)
    assert members[0].returncode == 130 and "Traceback" not in err
    assert assignments(outs[0].read_text())[-1] == ("revoked", a_held)
    members[1].send_signal(signal.SIGTERM)  # rather than wait for its timeout
    _, err = members[1].communicate(timeout=60)
    assert members[1].returncode == 130 and "Traceback" not in err

    a, b = (records(out.read_text()) for out in outs)
    assert {(t, p) for t, p, _, _ in a} == a_held and {(t, p) for t, p, _, _ in b} == b_held
    assert sorted(i for *_, i in a + b) == list(range(150))  # every row once, by one member
    assert outs[1].read_text().splitlines()[-1].startswith(
        f"read {len(b)} records, skipped 0 malformed")
    assert committed(kafka, group) == {("virginicasetosa", 0): 50, ("virginicasetosa", 1): 50,
                                       ("versicolor", 0): 25, ("versicolor", 1): 25}


def test_a_killed_members_partitions_move_to_the_survivor_after_the_session_timeout(
        kafka, tmp_path):
    group, outs, members = two_members(kafka, tmp_path, ("dead", "survivor"), timeout_ms=60000)
    dead_held = held(outs[0].read_text())
    producer = subprocess.Popen([sys.executable, "producer1.py", "--bootstrap-server",
                                 kafka.bootstrap, "--delay", "0.04"], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # kill it mid-stream, once it has committed some of what it has shown
    wait_for(lambda: len(records(outs[0].read_text())) >= 20, 60, "the first records")
    wait_for(lambda: any(committed(kafka, group)[tp] for tp in dead_held), 30, "a commit")
    committed_before = committed(kafka, group)
    members[0].send_signal(signal.SIGKILL)
    killed = time.monotonic()
    members[0].wait(timeout=10)
    assert producer.wait(timeout=60) == 0, producer.stderr.read()
    wait_for(lambda: held(outs[1].read_text()) == LAB_PARTITIONS, 30, "the takeover")
    moved_after = time.monotonic() - killed
    assert 5 < moved_after < 20  # not at once (it never said goodbye): the session timeout
    wait_for(lambda: {i for *_, i in records(outs[0].read_text() + outs[1].read_text())}
             == set(range(150)), 30, "every row")
    time.sleep(1)  # any duplicate still to come
    members[1].send_signal(signal.SIGTERM)  # rather than wait for its timeout
    _, err = members[1].communicate(timeout=60)
    assert members[1].returncode == 130 and "Traceback" not in err

    dead, survivor = (records(out.read_text()) for out in outs)
    assert sorted({i for *_, i in dead + survivor}) == list(range(150))  # nothing lost
    # duplicates: only the dead member's last records, shown but not yet committed; the
    # survivor starts each partition it took over at the dead member's last commit
    duplicates = sorted(set(dead) & set(survivor))
    assert len(dead) + len(survivor) - len(duplicates) == 150
    for topic, partition in dead_held:
        dead_offsets = [o for t, p, o, _ in dead if (t, p) == (topic, partition)]
        resumed_at = min(o for t, p, o, _ in survivor if (t, p) == (topic, partition))
        assert resumed_at <= max(dead_offsets, default=-1) + 1  # no gap
        # not before what the dead member had committed when it was killed
        assert resumed_at >= (committed_before[topic, partition] or 0)
        assert [d for d in duplicates if d[:2] == (topic, partition)] == \
            [d for d in dead if d[:2] == (topic, partition) and d[2] >= resumed_at]
    assert len(dead) > len(duplicates)  # it committed as it went


def run_consumer(kafka, tmp_path, *args):
    result = subprocess.run([sys.executable, "consumer.py", "--bootstrap-server",
                             kafka.bootstrap, "--exit-at-end", "--timeout-ms", "60000",
                             "--plot-file", tmp_path / "plot.png", *args],
                            cwd=ROOT, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr
    return result.stdout


def table_rows(text):
    return [line.split() for line in text.splitlines() if line.endswith(" setosa")]


def test_a_rerun_of_a_group_shows_only_the_new_records(kafka, tmp_path):
    reset_topics(kafka)
    produce(kafka)
    first, roles = new_group(), {"setosa": new_group(), "virginica": new_group()}
    shown = records(run_consumer(kafka, tmp_path, "--role", "all", "--group", first))
    assert sorted(i for *_, i in shown) == list(range(150))
    assert len(records(run_consumer(kafka, tmp_path, "--role", "virginica", "--group",
                                    roles["virginica"]))) == 50
    assert len(table_rows(run_consumer(kafka, tmp_path, "--role", "setosa", "--group",
                                       roles["setosa"]))) == 50
    produce(kafka)  # 150 more records, at offsets after the first 150

    rerun = records(run_consumer(kafka, tmp_path, "--role", "all", "--group", first))
    ends = {("virginicasetosa", 0): 50, ("virginicasetosa", 1): 50, ("versicolor", 0): 25,
            ("versicolor", 1): 25}
    assert sorted(i for *_, i in rerun) == list(range(150))
    assert all(o >= ends[t, p] for t, p, o, _ in rerun)  # only the second run's records
    fresh = records(run_consumer(kafka, tmp_path, "--role", "all", "--group", new_group()))
    assert sorted(i for *_, i in fresh) == sorted(list(range(150)) * 2)

    # roles setosa and virginica keep their partition and resume the same way
    virginica = records(run_consumer(kafka, tmp_path, "--role", "virginica", "--group",
                                     roles["virginica"]))
    assert [o for *_, o, _ in virginica] == list(range(50, 100))
    assert {i for *_, i in virginica} == {i for i, s in enumerate(SPECIES) if s == "virginica"}
    rows = table_rows(run_consumer(kafka, tmp_path, "--role", "setosa", "--group",
                                   roles["setosa"]))
    assert [int(row[2]) for row in rows] == list(range(50, 100))
    # without a group, nothing changed: everything from the beginning
    assert len(records(run_consumer(kafka, tmp_path, "--role", "virginica"))) == 100


def test_the_setosa_table_grows_while_the_lab_streams(kafka, tmp_path):
    reset_topics(kafka)
    out = tmp_path / "setosa.txt"
    consumer = start_consumer(kafka, out, "--role", "setosa", "--timeout-ms", "4000")
    wait_for(lambda: len(out.read_text().splitlines()) >= 2, 30, "the table's header")
    header = out.read_text().splitlines()[1]
    assert header.split() == ["topic", "partition", "offset", "id", "sepal_length",
                              "sepal_width", "petal_length", "petal_width", "species"]
    producer = subprocess.Popen([sys.executable, "producer1.py", "--bootstrap-server",
                                 kafka.bootstrap, "--delay", "0.02"], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # rows appear while the producer is still sending, not after the consumer's timeout
    wait_for(lambda: len(out.read_text().splitlines()) >= 12, 30, "the first rows")
    assert producer.poll() is None and consumer.poll() is None
    assert producer.wait(timeout=60) == 0
    _, err = consumer.communicate(timeout=60)
    assert consumer.returncode == 0, err
    lines = out.read_text().splitlines()
    assert lines[-1] == "read 50 records, skipped 0 malformed"
    rows = lines[2:lines.index("the setosa measurements, summarised by pandas (describe):")]
    assert [int(row.split()[3]) for row in rows] == [i for i, s in enumerate(SPECIES)
                                                     if s == "setosa"]
    # fixed-width columns: every cell ends where its column's name ends in the header
    ends = [m.end() for m in re.finditer(r"\S+", header)]
    for row in rows:
        assert [m.end() for m in re.finditer(r"\S+", row)] == ends, row
