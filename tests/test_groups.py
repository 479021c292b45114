"""consumer.py --group: the lab's group_id answer seen live, on a real broker. Two members
share the partitions, a killed member's partitions move to the survivor, a rerun of a group
reads only what is new, a second member takes only the partitions that move with
--assignor cooperative; python -m irislab.admin --groups shows each group's committed
offsets, lag and members as Apache Kafka's own kafka-consumer-groups does; and the setosa
table grows while the lab streams."""

import re
import signal
import subprocess
import time
import uuid

import pytest
from kafka import KafkaConsumer, TopicPartition

from irislab.broker import jars_dir
from irislab.layout import ROLE_PARTITIONS
from tests.lab import (BEFORE_THE_PRODUCER_MS, SETOSA_SUMMARY, SPECIES, consume, error_lines,
                       produce, records, reset_topics, run_python, start_consumer,
                       start_producer, start_python, wait_for)

ASSIGNMENT = re.compile(r"^(assigned|revoked): (.*)$")
# the end offset of each lab partition after one run of the producer
ENDS = {("virginicasetosa", 0): 50, ("virginicasetosa", 1): 50, ("versicolor", 0): 25,
        ("versicolor", 1): 25}


def new_group():
    return f"g-{uuid.uuid4().hex[:8]}"


def partitions_of(line):
    """{(topic, partition)} from 'assigned: virginicasetosa[0], versicolor[1]'."""
    return {(t, int(p)) for t, p in re.findall(r"(\w+)\[(\d+)\]", line)}


def assignments(text):
    """[(assigned|revoked, {(topic, partition)}), ...] in the order printed."""
    return [(m[1], partitions_of(m[2])) for m in map(ASSIGNMENT.match, text.splitlines()) if m]


def held(text):
    """The partitions a member holds after the lines printed so far."""
    now = set()
    for kind, parts in assignments(text):
        now = parts if kind == "assigned" else now - parts
    return now


def committed(kafka, group):
    probe = KafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=group)
    try:
        return {(t, p): probe.committed(TopicPartition(t, p)) for t, p in ROLE_PARTITIONS["all"]}
    finally:
        probe.close()


def two_members(kafka, tmp_path, names, timeout_ms):
    """Fresh lab topics and two `--role all` members of a new group, once both hold some
    partitions, the two sets together covering all four. Returns (group, members)."""
    reset_topics(kafka.bootstrap)
    group = new_group()
    members = [start_consumer(kafka.bootstrap, "all", "--group", group, "--timeout-ms",
                              timeout_ms, "--plot-file", tmp_path / f"{name}.png")
               for name in names]
    wait_for(lambda: all(held(member.out) for member in members)
             and held(members[0].out) | held(members[1].out) == set(ROLE_PARTITIONS["all"]),
             60, "the group to share the partitions")
    return group, members


def test_two_members_share_the_partitions_and_show_each_row_once(kafka, tmp_path):
    # members that end only when the test stops them: with a short --timeout-ms, the first
    # could end on the empty topics before the second had started and joined
    group, members = two_members(kafka, tmp_path, ("a", "b"), timeout_ms=60000)
    a_held, b_held = (held(member.out) for member in members)
    assert not a_held & b_held
    produce(kafka.bootstrap)
    wait_for(lambda: len(records(members[0].out) + records(members[1].out)) >= 150,
             60, "all the records")

    # SIGTERM: the member leaves the group at once, before the 10 s session timeout that a
    # member which never says goodbye costs (the next test); the rebalance takes about a
    # second, and 8 s leave room for a busy machine
    stopped = time.monotonic()
    members[0].send_signal(signal.SIGTERM)
    wait_for(lambda: held(members[1].out) == set(ROLE_PARTITIONS["all"]), 8,
             "the other member to take the partitions over")
    assert time.monotonic() - stopped < 8
    out, err = members[0].communicate(timeout=30)
    assert members[0].returncode == 130 and "Traceback" not in err
    assert assignments(out)[-1] == ("revoked", a_held)
    members[1].send_signal(signal.SIGTERM)  # rather than wait for its timeout
    _, err = members[1].communicate(timeout=60)
    assert members[1].returncode == 130 and "Traceback" not in err

    a, b = (records(member.out) for member in members)
    assert {(t, p) for t, p, _, _ in a} == a_held and {(t, p) for t, p, _, _ in b} == b_held
    assert sorted(i for *_, i in a + b) == list(range(150))  # every row once, by one member
    assert members[1].out.splitlines()[-1].startswith(
        f"read {len(b)} records, skipped 0 malformed")
    assert committed(kafka, group) == ENDS


def test_a_killed_members_partitions_move_to_the_survivor_after_the_session_timeout(
        kafka, tmp_path):
    group, members = two_members(kafka, tmp_path, ("dead", "survivor"), timeout_ms=60000)
    dead_held = held(members[0].out)
    producer = start_producer(kafka.bootstrap, "--delay", "0.04")
    # kill it mid-stream, once it has committed some of what it has shown
    wait_for(lambda: len(records(members[0].out)) >= 20, 60, "the first records")
    wait_for(lambda: any(committed(kafka, group)[tp] for tp in dead_held), 30, "a commit")
    committed_before = committed(kafka, group)
    members[0].send_signal(signal.SIGKILL)
    killed = time.monotonic()
    members[0].communicate(timeout=10)
    _, err = producer.communicate(timeout=60)
    assert producer.returncode == 0, err
    wait_for(lambda: held(members[1].out) == set(ROLE_PARTITIONS["all"]), 30, "the takeover")
    moved_after = time.monotonic() - killed
    assert 5 < moved_after < 20  # not at once (it never said goodbye): the session timeout
    # every row shown, and the group's position at each partition's end: the survivor commits
    # only what it has shown, so no duplicate is still to come
    wait_for(lambda: {i for *_, i in records(members[0].out + members[1].out)} == set(range(150))
             and committed(kafka, group) == ENDS, 30, "every row shown and committed")
    members[1].send_signal(signal.SIGTERM)  # rather than wait for its timeout
    _, err = members[1].communicate(timeout=60)
    assert members[1].returncode == 130 and "Traceback" not in err

    dead, survivor = (records(member.out) for member in members)
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


def run_consumer(kafka, tmp_path, role, *args):
    return consume(kafka.bootstrap, role, "--exit-at-end", "--timeout-ms", "60000",
                   "--plot-file", tmp_path / "plot.png", *args, timeout=90).stdout


def table_rows(text):
    return [line.split() for line in text.splitlines() if line.endswith(" setosa")]


def test_a_rerun_of_a_group_shows_only_the_new_records(kafka, tmp_path):
    reset_topics(kafka.bootstrap)
    produce(kafka.bootstrap)
    first, roles = new_group(), {"setosa": new_group(), "virginica": new_group()}
    shown = records(run_consumer(kafka, tmp_path, "all", "--group", first))
    assert sorted(i for *_, i in shown) == list(range(150))
    assert len(records(run_consumer(kafka, tmp_path, "virginica", "--group",
                                    roles["virginica"]))) == 50
    assert len(table_rows(run_consumer(kafka, tmp_path, "setosa", "--group",
                                       roles["setosa"]))) == 50
    produce(kafka.bootstrap)  # 150 more records, at offsets after the first 150

    rerun = records(run_consumer(kafka, tmp_path, "all", "--group", first))
    assert sorted(i for *_, i in rerun) == list(range(150))
    assert all(o >= ENDS[t, p] for t, p, o, _ in rerun)  # only the second run's records
    fresh = records(run_consumer(kafka, tmp_path, "all", "--group", new_group()))
    assert sorted(i for *_, i in fresh) == sorted(list(range(150)) * 2)

    # roles setosa and virginica keep their partition and resume the same way
    virginica = records(run_consumer(kafka, tmp_path, "virginica", "--group",
                                     roles["virginica"]))
    assert [o for *_, o, _ in virginica] == list(range(50, 100))
    assert {i for *_, i in virginica} == {i for i, s in enumerate(SPECIES) if s == "virginica"}
    rows = table_rows(run_consumer(kafka, tmp_path, "setosa", "--group", roles["setosa"]))
    assert [int(row[2]) for row in rows] == list(range(50, 100))
    # without a group, nothing changed: everything from the beginning
    assert len(records(run_consumer(kafka, tmp_path, "virginica"))) == 100


def test_the_setosa_table_grows_while_the_lab_streams(kafka, tmp_path):
    reset_topics(kafka.bootstrap)
    consumer = start_consumer(kafka.bootstrap, "setosa", "--timeout-ms", BEFORE_THE_PRODUCER_MS)
    header = consumer.wait_for_line(r"^\s*topic\s+partition\s")
    assert consumer.out.splitlines()[1] == header
    assert header.split() == ["topic", "partition", "offset", "id", "sepal_length",
                              "sepal_width", "petal_length", "petal_width", "species"]
    producer = start_producer(kafka.bootstrap, "--delay", "0.02")
    # rows appear while the producer is still sending, not after the consumer's timeout
    consumer.wait_for_line(r" setosa$", count=10)
    assert producer.poll() is None and consumer.poll() is None
    _, err = producer.communicate(timeout=60)
    assert producer.returncode == 0, err
    out, err = consumer.communicate(timeout=60)
    assert consumer.returncode == 0, err
    lines = out.splitlines()
    assert lines[-1] == "read 50 records, skipped 0 malformed"
    rows = lines[2:lines.index(SETOSA_SUMMARY)]
    assert [int(row.split()[3]) for row in rows] == [i for i, s in enumerate(SPECIES)
                                                     if s == "setosa"]
    # fixed-width columns: every cell ends where its column's name ends in the header
    ends = [m.end() for m in re.finditer(r"\S+", header)]
    for row in rows:
        assert [m.end() for m in re.finditer(r"\S+", row)] == ends, row


# --- --assignor cooperative: a joining member takes only the partitions that move

@pytest.mark.parametrize("assignor", ["cooperative", "range"])
def test_a_second_member_takes_over_only_the_partitions_that_move(kafka, tmp_path, assignor):
    """Cooperative: the first member gives back only what moves and keeps reading the rest;
    range (the default, eager): it gives back everything and gets half of it back."""
    reset_topics(kafka.bootstrap)
    group, every = new_group(), set(ROLE_PARTITIONS["all"])
    args = ("--group", group, "--timeout-ms", "60000", *(("--assignor", assignor)
                                                         if assignor != "range" else ()))
    first = start_consumer(kafka.bootstrap, "all", *args, "--plot-file", tmp_path / "1.png")
    wait_for(lambda: held(first.out) == every, 60, "the first member to hold every partition")
    producer = start_producer(kafka.bootstrap, "--delay", "0.05")
    first.wait_for_line(r"^topic=", count=5)
    second = start_consumer(kafka.bootstrap, "all", *args, "--plot-file", tmp_path / "2.png")
    wait_for(lambda: held(second.out) and held(first.out) | held(second.out) == every,
             60, "the second member to take its share")
    kept, moved = held(first.out), held(second.out)
    assert kept and not kept & moved
    _, err = producer.communicate(timeout=60)
    assert producer.returncode == 0, err
    wait_for(lambda: {i for *_, i in records(first.out + second.out)} == set(range(150)),
             60, "every row shown")  # at least once, by one member or the other
    first.send_signal(signal.SIGTERM)  # it leaves the group: its partitions move at once
    wait_for(lambda: held(second.out) == every, 30, "the second member to take them over")
    second.send_signal(signal.SIGTERM)
    for member in (first, second):
        _, err = member.communicate(timeout=60)
        assert member.returncode == 130 and "Traceback" not in err

    changes = assignments(first.out)
    assert changes[0] == ("assigned", every)
    assert changes[-1] == ("revoked", kept)  # leaving the group
    if assignor == "cooperative":
        assert changes[1:-1] == [("revoked", moved)]
    else:
        assert changes[1:-1] == [("revoked", every), ("assigned", kept)]
    assert assignments(second.out)[-1] == ("revoked", every)  # it held them all at its end
    # the partitions it kept, it read to their end, and the second member never held them
    shown = records(first.out)
    for topic, partition in kept:
        offsets = sorted({o for t, p, o, _ in shown if (t, p) == (topic, partition)})
        assert offsets == list(range(ENDS[topic, partition]))
    assert not any((t, p) in kept for t, p, _, _ in records(second.out))


def test_members_of_one_group_with_different_assignors_is_a_one_line_error(kafka, tmp_path):
    reset_topics(kafka.bootstrap)
    group = new_group()
    member = start_consumer(kafka.bootstrap, "all", "--group", group, "--timeout-ms", "60000",
                            "--plot-file", tmp_path / "1.png")
    wait_for(lambda: held(member.out), 60, "the first member to join")
    other = consume_as_member(kafka, tmp_path, group, "--assignor", "cooperative")
    assert other.returncode == 1
    assert error_lines(other.stderr) == [
        f"consumer.py: error: group {group} refused this member: its members share the "
        "partitions with another assignor than cooperative, and every member of a group must "
        "use the same --assignor (to switch: stop every member, then start them with the new "
        "one; the group keeps its committed offsets)"]
    assert member.poll() is None and assignments(member.out) == [("assigned", held(member.out))]


def consume_as_member(kafka, tmp_path, group, *args):
    return run_python("consumer.py", "--role", "all", "--group", group, "--exit-at-end",
                      "--bootstrap-server", kafka.bootstrap, "--plot-file", tmp_path / "x.png",
                      *args, timeout=90)


# --- python -m irislab.admin --groups, beside Apache Kafka's kafka-consumer-groups

def kafka_consumer_groups(kafka, *args):
    """What Apache Kafka's own kafka-consumer-groups prints: ConsumerGroupCommand, from the
    kafka-tools jar of the broker's version. (Without the broker's logging configuration,
    whose log lines on stdout would run into the tool's last line, which has no newline.)"""
    result = subprocess.run(
        ["java", "-Xmx256m", "-cp", str(jars_dir(kafka.mode) / "*"),
         "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
         "--bootstrap-server", kafka.bootstrap, *args],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def admin_groups(kafka, *args):
    result = run_python("-m", "irislab.admin", "--groups", *args, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def offset_rows(text):
    """{(topic, partition): {column: cell}} of the tables in kafka-consumer-groups --describe's
    columns in text (the last table's row, for a partition in more than one)."""
    rows, columns = {}, None
    for line in text.splitlines():
        cells = line.split()
        if cells[:3] == ["GROUP", "TOPIC", "PARTITION"]:
            columns = cells
        elif columns and len(cells) == len(columns):
            row = dict(zip(columns, cells))
            rows[row["TOPIC"], int(row["PARTITION"])] = row
        else:
            columns = None
    return rows


def lags(rows):
    return {key: row["LAG"] for key, row in rows.items()}


def test_groups_shows_the_lag_of_each_partition_as_kafkas_own_tool_does(kafka, tmp_path):
    reset_topics(kafka.bootstrap)
    produce(kafka.bootstrap)
    group = new_group()
    consume_as_member(kafka, tmp_path, group)
    # --client-config alone names the broker, as for every other command
    config = tmp_path / "client.properties"
    config.write_text(f"bootstrap.servers={kafka.bootstrap}\nsecurity.protocol=PLAINTEXT\n")
    caught_up = admin_groups(kafka, group, "--client-config", config)
    assert caught_up.startswith(f"group {group}: Empty, no members\n")
    assert lags(offset_rows(caught_up)) == {key: "0" for key in ENDS}

    produce(kafka.bootstrap)  # 150 more: the group is behind by one run of the producer
    behind = offset_rows(admin_groups(kafka, group, "--bootstrap-server", kafka.bootstrap))
    assert behind == offset_rows(kafka_consumer_groups(kafka, "--describe", "--group", group))
    assert list(behind) == ROLE_PARTITIONS["all"]  # in the layout's order
    for key, row in behind.items():
        assert (row["GROUP"], row["CURRENT-OFFSET"], row["LOG-END-OFFSET"], row["LAG"]) == \
            (group, str(ENDS[key]), str(2 * ENDS[key]), str(ENDS[key]))
        assert (row["CONSUMER-ID"], row["HOST"], row["CLIENT-ID"]) == ("-", "-", "-")

    # --watch, while the group catches up
    watch = start_python("-m", "irislab.admin", "--groups", group, "--watch",
                         "--bootstrap-server", kafka.bootstrap)
    heading = r"^\d\d:\d\d:\d\d, every 1 s until Ctrl-C$"
    watch.wait_for_line(rf"^{group}\s+versicolor\s+1\s+25\s+50\s+25\s")
    consume_as_member(kafka, tmp_path, group)
    printed = len(re.findall(heading, watch.out, re.M))
    # the table after the next was asked for after the rerun
    watch.wait_for_line(heading, count=printed + 2)
    watch.send_signal(signal.SIGINT)
    out, err = watch.communicate(timeout=30)
    assert watch.returncode == 130 and err == "python -m irislab.admin: interrupted\n"
    tables = [table for table in re.split(heading, out, flags=re.M) if table.strip()]
    assert lags(offset_rows(tables[0])) == {key: str(n) for key, n in ENDS.items()}
    assert lags(offset_rows(tables[-1])) == {key: "0" for key in ENDS}

    after = offset_rows(admin_groups(kafka, group, "--bootstrap-server", kafka.bootstrap))
    assert after == offset_rows(kafka_consumer_groups(kafka, "--describe", "--group", group))
    assert lags(after) == {key: "0" for key in ENDS}


def test_groups_shows_the_members_and_their_partitions_as_kafkas_own_tool_does(
        kafka, tmp_path):
    group, members = two_members(kafka, tmp_path, ("a", "b"), timeout_ms=60000)
    ours = admin_groups(kafka, group, "--bootstrap-server", kafka.bootstrap)
    tool_rows = offset_rows(kafka_consumer_groups(kafka, "--describe", "--group", group))
    tool_members = kafka_consumer_groups(kafka, "--describe", "--group", group, "--members",
                                         "--verbose")
    lines = ours.splitlines()
    assert lines[0] == f"group {group}: Stable, assignor range (eager rebalancing), 2 members"
    ours_members = {m[1]: (m[2], m[3], partitions_of(m[4])) for m in map(re.compile(
        r"^  member (\S+) \(client (\S+), host (\S+)\): (.*)$").match, lines[1:3]) if m}
    # each member as the tool lists it: its id, host, client id and partitions
    tool = {}
    for line in tool_members.splitlines():
        cells = line.split(maxsplit=5)
        if cells and cells[0] == group:
            tool[cells[1]] = (cells[2], cells[3], int(cells[4]), assignment_cell(tool_members,
                                                                                 cells[5]))
    assert len(ours_members) == 2 and set(ours_members) == set(tool)
    for member, (client, host, partitions) in ours_members.items():
        assert (host, client, len(partitions)) == tool[member][:3]
        assert tool[member][3] in (partitions, sorted(p for _, p in partitions))
    # who holds each partition, in members' own words (assigned:) too
    held_by = {key: member for member, (_, _, ps) in ours_members.items() for key in ps}
    assert set(held_by) == set(ROLE_PARTITIONS["all"])
    assert {frozenset(held(m.out)) for m in members} == {frozenset(ps) for _, _, ps in
                                                         ours_members.values()}
    # nothing read yet: no commit (-) and nothing to lag behind
    rows = offset_rows(ours)
    assert rows == tool_rows
    for key, row in rows.items():
        assert (row["CONSUMER-ID"], row["CURRENT-OFFSET"], row["LOG-END-OFFSET"],
                row["LAG"]) == (held_by[key], "-", "0", "-")
    for member in members:
        member.send_signal(signal.SIGTERM)
        member.communicate(timeout=60)


def assignment_cell(table, cell):
    """A member's partitions from kafka-consumer-groups --members --verbose: Kafka 4.1's
    CURRENT-ASSIGNMENT 'versicolor:0;virginicasetosa:0' as {(topic, partition)}; Kafka 3.9.1's
    ASSIGNMENT prints no topic, '(0), (0)', so there only the sorted partition numbers."""
    if "CURRENT-ASSIGNMENT" in table:
        return {(topic, int(p)) for topic, numbers in re.findall(r"([\w.-]+):([\d,]+)",
                                                               cell.split()[1])
                for p in numbers.split(",")}
    return sorted(int(p) for p in re.findall(r"\d+", cell))


def test_groups_names_a_group_that_does_not_exist_in_one_line(kafka):
    result = run_python("-m", "irislab.admin", "--groups", "no-such-group",
                        "--bootstrap-server", kafka.bootstrap, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    assert error_lines(result.stderr) == [
        "python -m irislab.admin: error: no consumer group 'no-such-group' on the cluster "
        "(python -m irislab.admin --groups lists those there are)"]
