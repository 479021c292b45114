"""Bad records among the lab's rows, written by an independent client (kcat), not our codec.

The steps: reset the lab's topics, write half the bad records, stream the 150 rows with
producer1.py, write the other half. Each role then keeps going past every bad record, warns
once per bad record on its partitions (topic, partition, offset, reason), shows all its valid
rows, exits 0, and reports how many it skipped.
"""

import re
import subprocess

import pytest
from kafka import KafkaConsumer, TopicPartition

from irislab.record import MEASUREMENTS
from irislab.layout import ROLE_PARTITIONS, partition_for
from tests.lab import SETOSA_SUMMARY, produce, reset_topics, start_consumer

FIELD_TEXT = {"id": "7", "sepal_length": "5.1", "sepal_width": "3.5", "petal_length": "1.4",
              "petal_width": "0.2", "species": '"setosa"'}


def row(**fields):
    """A record's value, spelled as JSON text field by field: row(id='"7"'), row(species=None)
    leaves species out. Values are bytes, so they may hold what no JSON library writes."""
    texts = {**FIELD_TEXT, **fields}
    parts = [b'"%s": %s' % (name.encode(), text if isinstance(text, bytes) else text.encode())
             for name, text in texts.items() if text is not None]
    return b"{" + b", ".join(parts) + b"}"


ROW = row()

# kind -> the value kcat writes (None: a key with no value, a NULL record)
BAD_KINDS = {
    "not JSON text": b"this is not an iris row",
    "truncated JSON": ROW[:45],
    "empty value": b"",
    "null value, key only": None,
    "whitespace only": b"  \n\t ",
    "NUL bytes": b"\x00" * 16,
    "invalid UTF-8": b"\xff\xfe\xfd garbage \x80\x81",
    "invalid UTF-8 inside a string": row(species=b'"set\xc3\x28osa"'),
    "UTF-8 surrogate bytes": row(species=b'"\xed\xa0\x80"'),
    "UTF-8 BOM before the row": b"\xef\xbb\xbf" + ROW,
    "UTF-16 row": ROW.decode().encode("utf-16"),
    "JSON array of a row": b"[" + ROW + b"]",
    "bare number": b"42",
    "bare string": b'"setosa"',
    "JSON null": b"null",
    "JSON true": b"true",
    "empty object": b"{}",
    "two rows back to back": ROW + ROW,
    "Python dict repr": ROW.replace(b'"', b"'"),
    "trailing comma": ROW[:-1] + b", }",
    "CSV line": b"5.1,3.5,1.4,0.2,Iris-setosa",
    "missing a field": row(petal_width=None),
    "only an id": b'{"id": 7}',
    "id as string": row(id='"7"'),
    "id negative": row(id="-1"),
    "id float": row(id="7.5"),
    "id bool": row(id="true"),
    "id null": row(id="null"),
    "measurement as string": row(sepal_length='"5.1"'),
    "measurement null": row(sepal_width="null"),
    "measurement bool": row(petal_length="false"),
    "NaN": row(sepal_length="NaN"),
    "Infinity": row(sepal_width="Infinity"),
    "-Infinity": row(petal_width="-Infinity"),
    "huge number 1e400": row(petal_length="1e400"),
    "integer of 5000 digits": row(sepal_length="9" * 5000),
    "integer of 400 digits": row(petal_width="1" * 400),
    "negative length": row(petal_length="-1.4"),
    "length of 10 km": row(sepal_length="1e6"),
    "object instead of a number": row(sepal_width='{"cm": 3.5}'),
    "list instead of a number": row(petal_width="[0.2]"),
    "unknown species": row(species='"rose"'),
    "species in the wrong case": row(species='"Setosa"'),
    "species as UCI writes it": row(species='"Iris-setosa"'),
    "species as a number": row(species="0"),
    "species null": row(species="null"),
    "species in a list": row(species='["setosa"]'),
    "species a lone surrogate": row(species='"\\ud800"'),
    "unknown predicted species": row(predicted='"tulip"'),
    "deeply nested arrays": b"[" * 10000,
    "deeply nested in a field": row(sepal_length='{"a": ' * 5000 + "1" + "}" * 5000),
    "species of 60 KB": row(species='"' + "x" * 60_000 + '"'),
    "value of 880 KB": row(species='"' + "x" * 880_000 + '"'),  # under the broker's ~1 MB
}
WARNING = re.compile(r"warning: skipped topic=(\S+) partition=(\d+) offset=(\d+): (.*)")
RECORD = re.compile(r"topic=(\S+) partition=(\d+) offset=(\d+) id=(\d+) species=(\S+) ")


def kcat_write(bootstrap, topic, partition, key, value, tmp_path):
    """One record, written by kcat: a file is sent whole as one message; NULL via -Z."""
    base = ["kcat", "-b", bootstrap, "-P", "-t", topic, "-p", str(partition)]
    if value is None:  # key and delimiter, no value: -Z sends the empty value as NULL
        command, stdin = [*base, "-K", "\t", "-Z"], f"{key}\t\n".encode()
    elif value == b"":
        command, stdin = [*base, "-K", "\t"], f"{key}\t\n".encode()
    else:
        path = tmp_path / f"{key}.bin"
        path.write_bytes(value)
        command, stdin = [*base, "-k", key, str(path)], b""
    result = subprocess.run(command, input=stdin, capture_output=True, timeout=30)
    assert result.returncode == 0 and not result.stderr, result.stderr


def read_back(bootstrap):
    """key -> (topic, partition, offset, value) of every record on the lab's partitions."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=3000)
    consumer.assign([TopicPartition(t, p) for t, p in ROLE_PARTITIONS["all"]])
    consumer.seek_to_beginning()
    records = {m.key.decode(): (m.topic, m.partition, m.offset, m.value) for m in consumer}
    consumer.close()
    return records


class Lab:
    """What was written where, and what each role printed."""

    def __init__(self, bad, valid, runs):
        self.bad = bad      # kind -> (topic, partition, offset)
        self.valid = valid  # (topic, partition, offset) -> id, of the producer's rows
        self.runs = runs    # role -> (returncode, stdout, stderr)


@pytest.fixture(scope="module")
def lab(kafka, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("bad-records")
    reset_topics(kafka.bootstrap)
    keys = {kind: f"bad-{i:02d}" for i, kind in enumerate(BAD_KINDS)}

    def write_bad(first_round):
        # kind i goes to the lab's partition i % 4; rounds of four alternate before and after
        partitions = ROLE_PARTITIONS["all"]
        for i, (kind, value) in enumerate(BAD_KINDS.items()):
            if (i // len(partitions) % 2 == 0) == first_round:
                topic, partition = partitions[i % len(partitions)]
                kcat_write(kafka.bootstrap, topic, partition, keys[kind], value, tmp_path)

    write_bad(first_round=True)
    produce(kafka.bootstrap)
    write_bad(first_round=False)

    landed = read_back(kafka.bootstrap)
    bad = {}
    for kind, key in keys.items():
        topic, partition, offset, value = landed.pop(key)
        assert value == BAD_KINDS[kind], f"kcat did not write {kind!r} as meant"
        bad[kind] = (topic, partition, offset)
    valid = {(t, p, o): int(key) for key, (t, p, o, _) in landed.items()}
    assert sorted(valid.values()) == list(range(150))

    roles = {role: start_consumer(kafka.bootstrap, role, "--timeout-ms", "3000",
                                  "--plot-file", tmp_path / f"{role}.png")
             for role in ROLE_PARTITIONS}
    runs = {}
    try:
        for role, consumer in roles.items():
            out, err = consumer.communicate(timeout=120)
            runs[role] = (consumer.returncode, out, err)
    finally:  # this fixture outlives the test that started them
        for consumer in roles.values():
            consumer.stop()
    return Lab(bad, valid, runs)


def test_the_bad_records_are_many_kinds_on_every_partition(lab):
    assert len(BAD_KINDS) >= 25
    assert len(set(BAD_KINDS.values())) == len(BAD_KINDS)
    assert {(t, p) for t, p, _ in lab.bad.values()} == set(ROLE_PARTITIONS["all"])
    for topic, partition in ROLE_PARTITIONS["all"]:
        bad = [o for t, p, o in lab.bad.values() if (t, p) == (topic, partition)]
        valid = [o for t, p, o in lab.valid if (t, p) == (topic, partition)]
        assert min(bad) < min(valid) and max(bad) > max(valid)  # bad ones before and after


@pytest.mark.parametrize("role", sorted(ROLE_PARTITIONS))
def test_each_role_warns_once_per_bad_record_and_shows_every_valid_row(lab, role):
    returncode, out, err = lab.runs[role]
    assert returncode == 0, err
    assert "Traceback" not in out + err

    mine = set(ROLE_PARTITIONS[role])
    bad = {(t, p, o) for t, p, o in lab.bad.values() if (t, p) in mine}
    valid = {pos: record_id for pos, record_id in lab.valid.items() if pos[:2] in mine}
    warnings = [WARNING.fullmatch(line) for line in err.splitlines()]
    assert all(warnings), "stderr has more than warnings:\n" + err[:2000]
    warned = [(w[1], int(w[2]), int(w[3])) for w in warnings]
    assert sorted(warned) == sorted(bad)  # each bad record once, no valid one
    assert all(w[4].strip() for w in warnings)  # each with a reason

    lines = out.splitlines()
    assert lines[-1] == f"read {len(valid)} records, skipped {len(bad)} malformed"
    if role == "setosa":
        shown = setosa_table_rows(lines)
    else:
        shown = {(m[1], int(m[2]), int(m[3])): (int(m[4]), m[5])
                 for m in map(RECORD.match, lines) if m}
        assert len(shown) == sum(1 for line in lines if line.startswith("topic="))
    assert {pos: record_id for pos, (record_id, _) in shown.items()} == valid
    assert all(partition_for(species, record_id) == (t, p)
               for (t, p, _), (record_id, species) in shown.items())
    assert len(valid) == {"all": 150, "setosa": 50, "virginica": 50}[role]


def setosa_table_rows(lines):
    """(topic, partition, offset) -> (id, species) from the setosa role's table."""
    start = next(i for i, line in enumerate(lines) if line.split()[:3] == ["topic", "partition",
                                                                          "offset"])
    assert lines[start].split() == ["topic", "partition", "offset", "id", *MEASUREMENTS,
                                    "species"]
    # the table ends where pandas' summary of the measurements begins
    end = lines.index(SETOSA_SUMMARY)
    cells = [line.split() for line in lines[start + 1:end]]
    assert all(len(c) == 9 for c in cells), lines[start + 1:end]
    return {(c[0], int(c[1]), int(c[2])): (int(c[3]), c[8]) for c in cells}
