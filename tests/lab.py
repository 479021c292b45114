"""What the tests share: run the lab's scripts as a user runs them (to completion, or in the
background with a handle that reads their output while they run), the lab's steps on a
broker (reset the topics, produce, consume), kcat's view of what landed where, and the lab's
facts as the assignment states them, to check the code against.

Every script started in the background is stopped (killed and reaped) when the test that
started it ends, passed or failed: see the `every_script_stopped` fixture in conftest.py.
"""

import json
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import matplotlib.image
import numpy as np
import psutil
from kafka import KafkaAdminClient
from kafka.errors import KafkaError
from sklearn.datasets import load_iris

from irislab.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
MODES = os.environ.get("IRISLAB_MODES", "zookeeper kraft").split()

# --- the lab's facts, as the assignment states them (independent of irislab.layout)

IRIS = load_iris()
SPECIES = [str(IRIS.target_names[t]) for t in IRIS.target]  # the species of each id
EXPECTED_HOME = {"virginica": ("virginicasetosa", {0}), "setosa": ("virginicasetosa", {1}),
                 "versicolor": ("versicolor", {0, 1})}
ROLE_SPECIES = {"all": {"setosa", "versicolor", "virginica"}, "setosa": {"setosa"},
                "virginica": {"virginica"}}
# matplotlib's named colours: red, blue, and "green" (#008000)
COLOURS = {"virginica": (1.0, 0.0, 0.0), "setosa": (0.0, 0.0, 1.0),
           "versicolor": (0.0, 128 / 255, 0.0)}

# what the consumers print: one line per record, and the line that starts the reading
RECORD_LINE = re.compile(r"^topic=(\S+) partition=(\d) offset=(\d+) id=(\d+) species=(\w+)")
READING_LINE = r"^role \w+: "
# the setosa role's last part: pandas' describe() of the measurements
SETOSA_SUMMARY = "the setosa measurements, summarised by pandas (describe):"
# --timeout-ms of a consumer started before the producer: it must outlast the producer's
# start-up (Python, pandas, the connection, the topic check) until the first record, up to
# 2.7 s measured here with every core busy. The lab's own 10 s leaves that margin; shorter
# ones raced the producer on a busy machine.
BEFORE_THE_PRODUCER_MS = 10000
# what a command says on stderr when the broker has not answered within a second
WAITING_LINE = re.compile(r"trying to reach a Kafka broker at \S+ for up to [\d.]+ s \.\.\.")


def error_lines(stderr):
    """The lines of stderr but the note that the command is still trying to connect, which
    a busy machine may make it print before a refusal or an error."""
    return [line for line in stderr.splitlines() if not WAITING_LINE.fullmatch(line)]


# --- running a script

def run_python(*args, timeout=60, env=None, check=False):
    """Run `python ARGS...` from the project folder to completion, as a user would, and
    return what it printed (a subprocess.CompletedProcess). check: it must exit 0."""
    try:
        result = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT,
                                capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:  # subprocess.run has killed it
        out, err = (text.decode(errors="replace") if isinstance(text, bytes) else text or ""
                    for text in (e.stdout, e.stderr))  # what it printed, as bytes or text
        raise AssertionError(f"python {' '.join(map(str, args))}: still running after "
                             f"{timeout} s\n--- stdout:\n{out[-3000:]}\n--- stderr:\n"
                             f"{err[-3000:]}") from None
    if check:
        assert result.returncode == 0, \
            f"python {' '.join(map(str, args))}: exited {result.returncode}\n{result.stderr}"
    return result


_running = []  # every Script started and not yet stopped, oldest first


def start_python(*args, env=None):
    """Start `python ARGS...` from the project folder in the background; returns its
    Script, which the test may read while it runs."""
    return Script(args, env)


class Script:
    """A script running in the background. Its output goes to files, so it never blocks on
    a full pipe and the test can read what it has printed so far.

    Ctrl-C works as in a terminal (send_signal(SIGINT)), even where the test runner was
    started with SIGINT ignored."""

    def __init__(self, args, env=None):
        self.args = [str(a) for a in args]
        self._folder = tempfile.TemporaryDirectory(prefix="irislab-script-")
        self._out, self._err = (Path(self._folder.name, name) for name in ("out", "err"))
        with self._out.open("w") as out, self._err.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, *self.args], cwd=ROOT, env=env, stdout=out, stderr=err,
                stdin=subprocess.DEVNULL,
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        _running.append(self)

    def __repr__(self):
        return f"<python {' '.join(self.args)}>"

    @property
    def out(self):
        """What it has printed on stdout so far."""
        return self._out.read_text(errors="replace")

    @property
    def err(self):
        """What it has printed on stderr so far."""
        return self._err.read_text(errors="replace")

    @property
    def returncode(self):
        return self.process.returncode

    def poll(self):
        """Its exit status, or None while it runs."""
        return self.process.poll()

    def send_signal(self, sig):
        self.process.send_signal(sig)

    def wait_for_line(self, pattern, timeout=30, count=1):
        """Wait until `count` lines of its stdout match the regular expression `pattern`;
        return the last of them. Fails with its output so far after `timeout` s, or at once
        if it exits first."""
        deadline = time.monotonic() + timeout
        while True:
            exited = self.poll() is not None  # before reading: its last lines are in
            matches = [line for line in self.out.splitlines() if re.search(pattern, line)]
            if len(matches) >= count:
                return matches[count - 1]
            why = (f"it exited {self.returncode}" if exited else
                   f"{timeout} s passed" if time.monotonic() > deadline else None)
            if why:
                raise AssertionError(
                    f"{self}: {why} with {len(matches)} of {count} line(s) matching "
                    f"{pattern!r}\n--- stdout:\n{self.out[-3000:]}\n--- stderr:\n"
                    f"{self.err[-3000:]}")
            time.sleep(0.1)

    def communicate(self, timeout=60):
        """Wait until it exits; return (stdout, stderr). Fails with its output so far if it
        has not exited after `timeout` s (the test's end then stops it)."""
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self}: still running after {timeout} s\n--- stdout:\n"
                                 f"{self.out[-3000:]}\n--- stderr:\n{self.err[-3000:]}") from None
        return self.out, self.err

    def stop(self):
        """Kill it if it still runs, and reap it."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._folder.cleanup()
        if self in _running:
            _running.remove(self)


def scripts_running():
    """The scripts started and not yet stopped."""
    return list(_running)


def stop_scripts(keep=()):
    """Stop every script started and not yet stopped, but those in `keep`."""
    for script in reversed(_running[:]):
        if script not in keep:
            script.stop()


def wait_for(predicate, timeout, what):
    """Wait until predicate() holds; fail after `timeout` s naming `what` (a text, or a
    function giving one, called only then). Returns the seconds waited."""
    try:
        return wait_until(predicate, timeout, interval=0.1)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for "
                             f"{what() if callable(what) else what}") from None


def live_processes_mentioning(text):
    """Pids of running (not zombie) processes whose command line contains text."""
    pids = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        if (proc.info["status"] != psutil.STATUS_ZOMBIE
                and any(text in arg for arg in proc.info["cmdline"] or ())):
            pids.append(proc.pid)
    return pids


# --- the lab's steps on a broker (or cluster) at `bootstrap`

def reset_topics(bootstrap):
    """Fresh, empty lab topics: python -m irislab.admin --reset."""
    run_python("-m", "irislab.admin", "--reset", "--bootstrap-server", bootstrap, check=True)


def produce(bootstrap, *args, timeout=120, env=None):
    """Run producer1.py to the end; it must exit 0."""
    return run_python("producer1.py", "--bootstrap-server", bootstrap, *args, timeout=timeout,
                      env=env, check=True)


def start_producer(bootstrap, *args, env=None):
    return start_python("producer1.py", "--bootstrap-server", bootstrap, *args, env=env)


def consume(bootstrap, role, *args, timeout=120, env=None):
    """Run consumer.py --role ROLE to the end; it must exit 0."""
    return run_python("consumer.py", "--role", role, "--bootstrap-server", bootstrap, *args,
                      timeout=timeout, env=env, check=True)


def start_consumer(bootstrap, role, *args, env=None):
    return start_python("consumer.py", "--role", role, "--bootstrap-server", bootstrap, *args,
                        env=env)


def new_topic(bootstrap, partitions=2):
    """A fresh topic of the test's own, so tests sharing a broker don't meet."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    with KafkaAdminClient(bootstrap_servers=bootstrap) as admin:
        admin.create_topics({name: {"num_partitions": partitions, "replication_factor": 1}},
                            wait_for_metadata=True)
    return name


# --- what landed where, read by an independent client (kcat, or confluent-kafka)

def kcat_records(bootstrap, topic, partition):
    """(offset, key, value dict) of every record on a partition, read by kcat."""
    out = subprocess.run(["kcat", "-b", bootstrap, "-C", "-t", topic, "-p", str(partition),
                          "-o", "beginning", "-e", "-q", "-f", "%o\t%k\t%s\n"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return [(int(o), k, json.loads(v)) for o, k, v in
            (line.split("\t", 2) for line in out.splitlines())]


def librdkafka_records(config, topic, partition, timeout=30):
    """(offset, key, value dict) of every record on a partition, read by confluent-kafka
    (librdkafka) with `config`, a client.properties' keys and values in librdkafka's
    spelling: a secured cluster's (Debian's kcat cannot log in to Kafka 4.1 with SCRAM)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    # a group id librdkafka insists on; the partition is assigned, nothing is committed
    consumer = Consumer({**config, "group.id": "lab-test-reader", "enable.auto.commit": False},
                        logger=logging.getLogger("librdkafka"))  # shown if the test fails
    try:
        _, end = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout)
        consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        records, deadline = [], time.monotonic() + timeout
        while (records[-1][0] + 1 if records else 0) < end:
            assert time.monotonic() < deadline, f"read {len(records)} of {end} records " \
                                                f"of {topic}[{partition}] in {timeout} s"
            message = consumer.poll(0.5)
            if message is not None:
                assert message.error() is None, message.error()
                records.append((message.offset(), message.key().decode(),
                                json.loads(message.value())))
        return records
    finally:
        consumer.close()


def properties(path):
    """key -> value of a plain client.properties file (key=value lines, # comments)."""
    lines = Path(path).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and line[0] != "#")


def lab_partitions_led(bootstrap):
    """Whether every lab partition has a leader. A ZooKeeper-mode broker restarted after a
    crash answers on its port before its partitions do: ZooKeeper still holds the killed
    broker's session until it times out, and only then is the broker leader again."""
    try:
        with KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000) as admin:
            topics = admin.describe_topics(["virginicasetosa", "versicolor"])
    except KafkaError:
        return False
    return len(topics) == 2 and all(t["error_code"] == 0 and len(t["partitions"]) == 2
                                    and all(p["leader_id"] >= 0 for p in t["partitions"])
                                    for t in topics)


def landed(bootstrap, read=kcat_records):
    """id -> list of (topic, partition, key, value) for every record in the lab's topics,
    as read(bootstrap, topic, partition) reads them."""
    where = {}
    for topic in ("virginicasetosa", "versicolor"):
        for partition in (0, 1):
            for _, key, value in read(bootstrap, topic, partition):
                where.setdefault(value["id"], []).append((topic, partition, key, value))
    return where


def assert_each_row_landed_once_where_the_lab_says(bootstrap, read=kcat_records):
    where = landed(bootstrap, read)
    assert sorted(where) == list(range(150))
    for record_id, copies in where.items():
        assert len(copies) == 1, f"id {record_id} landed {len(copies)} times"
        topic, partition, key, value = copies[0]
        species = SPECIES[record_id]
        assert (topic, partition in EXPECTED_HOME[species][1]) == (EXPECTED_HOME[species][0], True)
        assert key == str(record_id)
        assert value == {"id": record_id, "species": species,
                         **dict(zip(("sepal_length", "sepal_width", "petal_length", "petal_width"),
                                    IRIS.data[record_id].tolist()))}
    versicolor_partitions = [where[i][0][1] for i in range(150) if SPECIES[i] == "versicolor"]
    assert sorted(set(versicolor_partitions)) == [0, 1]


# --- what the consumers printed and drew

def records(text):
    """[(topic, partition, offset, id)] of the record lines, in order; species checked."""
    shown = []
    for m in map(RECORD_LINE.match, text.splitlines()):
        if m:
            assert SPECIES[int(m[4])] == m[5]
            shown.append((m[1], int(m[2]), int(m[3]), int(m[4])))
    return shown


def assert_role_printed_exactly_its_records(role, out, err):
    assert "Traceback" not in err
    wanted = {i for i, s in enumerate(SPECIES) if s in ROLE_SPECIES[role]}
    if role == "setosa":
        # a table: a header with a species column, one row per record, then pandas'
        # summary of the measurements
        lines = out.splitlines()
        summary = lines.index(SETOSA_SUMMARY)
        header, *rows = lines[1:summary]
        assert header.split()[-1] == "species"
        ids = [int(row.split()[3]) for row in rows]
        assert all(row.split()[-1] == "setosa" for row in rows)
        assert_setosa_summary(lines[summary + 1:summary + 7], IRIS.data[sorted(wanted)])
    else:
        lines = [RECORD_LINE.match(line) for line in out.splitlines() if RECORD_LINE.match(line)]
        ids = [int(m[4]) for m in lines]
        assert all(SPECIES[int(m[4])] == m[5] for m in lines)
    assert sorted(ids) == sorted(wanted)
    assert out.splitlines()[-1] == f"read {len(wanted)} records, skipped 0 malformed"


def assert_setosa_summary(lines, measurements):
    """pandas' describe() table: count, mean, std, min and max of each measurement, to two
    decimals, as computed here from scikit-learn's copy of the data set."""
    columns, *rows = [line.split() for line in lines]
    assert columns == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    expected = {"count": [len(measurements)] * 4, "mean": measurements.mean(axis=0),
                "std": measurements.std(axis=0, ddof=1), "min": measurements.min(axis=0),
                "max": measurements.max(axis=0)}
    assert [row[0] for row in rows] == list(expected)
    for name, *values in rows:
        assert np.allclose([float(v) for v in values], expected[name], atol=0.006), name


def colour_pixels(png):
    """species -> how many pixels of the picture have its colour."""
    return {species: int(mask.sum()) for species, mask in colour_masks(png).items()}


def colour_columns(png):
    """species -> the mean column (x, in pixels) of the pixels of its colour: where that
    colour's points lie from left (short sepals) to right (long ones)."""
    return {species: float(np.nonzero(mask)[1].mean())
            for species, mask in colour_masks(png).items() if mask.any()}


def colour_masks(png):
    image = matplotlib.image.imread(png)[..., :3]
    return {species: np.all(np.abs(image - rgb) < 0.02, axis=-1)
            for species, rgb in COLOURS.items()}
