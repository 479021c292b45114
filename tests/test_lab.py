"""The lab, step by step, on a real broker: create the topics, run the three consumers and
the producer (in either order), then check what landed where, read back by kcat, and what
each consumer printed and drew."""

import json
import re
import subprocess
import sys
import time

import matplotlib.image
import numpy as np
import pytest
from kafka import KafkaAdminClient
from kafka.errors import TopicAlreadyExistsError
from sklearn.datasets import load_iris

from conftest import ROOT, run_python

# The lab's routing, as the assignment states it (independent of irislab.layout)
IRIS = load_iris()
SPECIES = [str(IRIS.target_names[t]) for t in IRIS.target]
EXPECTED_HOME = {"virginica": ("virginicasetosa", {0}), "setosa": ("virginicasetosa", {1}),
                 "versicolor": ("versicolor", {0, 1})}
ROLE_SPECIES = {"all": {"setosa", "versicolor", "virginica"}, "setosa": {"setosa"},
                "virginica": {"virginica"}}
RECORD_LINE = re.compile(r"^topic=(\S+) partition=(\d) offset=(\d+) id=(\d+) species=(\w+)")
# matplotlib's named colours: red, blue, and "green" (#008000)
COLOURS = {"virginica": (1.0, 0.0, 0.0), "setosa": (0.0, 0.0, 1.0),
           "versicolor": (0.0, 128 / 255, 0.0)}


def kcat_records(bootstrap, topic, partition):
    """(offset, key, value dict) of every record on a partition, read by kcat."""
    out = subprocess.run(["kcat", "-b", bootstrap, "-C", "-t", topic, "-p", str(partition),
                          "-o", "beginning", "-e", "-q", "-f", "%o\t%k\t%s\n"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return [(int(o), k, json.loads(v)) for o, k, v in
            (line.split("\t", 2) for line in out.splitlines())]


def landed(bootstrap):
    """id -> list of (topic, partition, key, value) for every record in the lab's topics."""
    where = {}
    for topic in ("virginicasetosa", "versicolor"):
        for partition in (0, 1):
            for _, key, value in kcat_records(bootstrap, topic, partition):
                where.setdefault(value["id"], []).append((topic, partition, key, value))
    return where


def delete_topics(kafka, topics):
    """Delete topics and wait until the broker no longer lists them."""
    with KafkaAdminClient(bootstrap_servers=kafka.bootstrap) as admin:
        present = [t for t in admin.list_topics() if t in topics]
        if present:
            admin.delete_topics(present)
        deadline = time.monotonic() + 30
        while any(t in admin.list_topics() for t in topics):
            assert time.monotonic() < deadline, f"{topics} not deleted"
            time.sleep(0.3)


def reset_topics(kafka):
    result = run_python("-m", "irislab.admin", "--reset", "--bootstrap-server", kafka.bootstrap)
    assert result.returncode == 0, result.stderr


def start_consumer(kafka, role, tmp_path, timeout_ms=6000):
    return subprocess.Popen(
        [sys.executable, "consumer.py", "--role", role, "--bootstrap-server", kafka.bootstrap,
         "--timeout-ms", str(timeout_ms), "--plot-file", str(tmp_path / "sepal.png")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def produce(kafka, *args):
    result = run_python("producer1.py", "--bootstrap-server", kafka.bootstrap, *args, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def assert_each_row_landed_once_where_the_lab_says(kafka):
    where = landed(kafka.bootstrap)
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


def assert_role_printed_exactly_its_records(role, out, err):
    assert "Traceback" not in err
    wanted = {i for i, s in enumerate(SPECIES) if s in ROLE_SPECIES[role]}
    if role == "setosa":
        # a table: a header with a species column, one row per record, then pandas'
        # summary of the measurements
        lines = out.splitlines()
        summary = lines.index("the setosa measurements, summarised by pandas (describe):")
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
    image = matplotlib.image.imread(png)[..., :3]
    return {species: int(np.all(np.abs(image - rgb) < 0.02, axis=-1).sum())
            for species, rgb in COLOURS.items()}


def test_consumers_first_then_producer_as_in_the_lab(kafka, tmp_path):
    reset_topics(kafka)
    consumers = {role: start_consumer(kafka, role, tmp_path) for role in ROLE_SPECIES}
    time.sleep(3)  # let them assign and seek while the topics are still empty
    produce(kafka)
    for role, consumer in consumers.items():
        out, err = consumer.communicate(timeout=60)
        assert consumer.returncode == 0, err
        assert_role_printed_exactly_its_records(role, out, err)
    assert_each_row_landed_once_where_the_lab_says(kafka)
    assert all(n > 200 for n in colour_pixels(tmp_path / "sepal.png").values())


def test_producer_first_then_consumers_replay_from_the_beginning(kafka, tmp_path):
    result = produce(kafka, "--reset-topics")
    assert result.stdout.splitlines()[-1] == (
        "delivered 150 of 150 records sent (versicolor[0] 25, versicolor[1] 25, "
        "virginicasetosa[0] 50, virginicasetosa[1] 50)")
    assert len([line for line in result.stdout.splitlines() if line.startswith("sent ")]) == 150
    assert_each_row_landed_once_where_the_lab_says(kafka)
    for role in ROLE_SPECIES:
        consumer = start_consumer(kafka, role, tmp_path, timeout_ms=3000)
        out, err = consumer.communicate(timeout=60)
        assert consumer.returncode == 0, err
        assert_role_printed_exactly_its_records(role, out, err)


def test_the_plot_shows_each_species_in_its_colour(kafka, tmp_path):
    # with no versicolor records, no green may appear
    produce(kafka, "--reset-topics")
    delete_topics(kafka, ["versicolor"])
    consumer = start_consumer(kafka, "all", tmp_path, timeout_ms=3000)
    out, err = consumer.communicate(timeout=60)
    assert consumer.returncode == 0, err
    pixels = colour_pixels(tmp_path / "sepal.png")
    assert pixels["setosa"] > 200 and pixels["virginica"] > 200
    assert pixels["versicolor"] < 20
    assert "saved the sepal plot of 100 records" in out


def test_route_by_prediction_sends_each_record_where_the_model_says(kafka):
    result = produce(kafka, "--reset-topics", "--route-by", "prediction")
    accuracy = re.search(r"predicts (\d+\.\d)% of the 150 rows", result.stdout)
    assert accuracy and 90 <= float(accuracy[1]) <= 100
    where = landed(kafka.bootstrap)
    assert sorted(where) == list(range(150))
    wrong = 0
    for record_id, [(topic, partition, _, value)] in where.items():
        assert value["species"] == SPECIES[record_id]
        home_topic, home_partitions = EXPECTED_HOME[value["predicted"]]
        assert topic == home_topic and partition in home_partitions
        wrong += value["predicted"] != value["species"]
    assert 0 < 150 - wrong and abs((150 - wrong) / 150 * 100 - float(accuracy[1])) < 0.1


def test_a_uci_csv_streams_like_the_bundled_data_set(kafka, tmp_path):
    csv = tmp_path / "iris.csv"
    csv.write_text("".join(
        ",".join(f"{x:.1f}" for x in features) + f",Iris-{species}\n"
        for features, species in zip(IRIS.data, SPECIES)) + "\n")
    produce(kafka, "--reset-topics", "--csv", csv)
    assert_each_row_landed_once_where_the_lab_says(kafka)


def test_a_topic_with_one_partition_is_refused_and_nothing_is_written(kafka):
    delete_topics(kafka, ["virginicasetosa", "versicolor"])
    with KafkaAdminClient(bootstrap_servers=kafka.bootstrap) as admin:
        deadline = time.monotonic() + 30
        while True:
            try:
                admin.create_topics({"versicolor": {"num_partitions": 1, "replication_factor": 1}},
                                    wait_for_metadata=True)
                break
            except TopicAlreadyExistsError:  # ZooKeeper mode: the deletion is still finishing
                assert time.monotonic() < deadline
                time.sleep(0.5)
    result = run_python("producer1.py", "--bootstrap-server", kafka.bootstrap)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "producer1.py: error: topic versicolor has 1 partition(s), the lab needs 2: "
        "delete it (producer1.py --reset-topics) and run again"]
    listing = subprocess.run(["kcat", "-b", kafka.bootstrap, "-L"], capture_output=True,
                             text=True).stdout
    assert 'topic "virginicasetosa"' not in listing
    assert kcat_records(kafka.bootstrap, "versicolor", 0) == []
    consumer = run_python("consumer.py", "--role", "all", "--bootstrap-server", kafka.bootstrap)
    assert consumer.returncode == 1
    assert "versicolor has 1 partition(s)" in consumer.stderr
    produce(kafka, "--reset-topics")  # leave the layout right for the next test


@pytest.mark.parametrize("command", [
    ["producer1.py"], ["consumer.py", "--role", "all"], ["consumer.py", "--role", "setosa"],
    ["consumer.py", "--role", "virginica"], ["-m", "irislab.admin"]])
def test_no_broker_is_a_one_line_error_naming_the_address(command, unused_address):
    started = time.monotonic()
    result = run_python(*command, "--bootstrap-server", unused_address, timeout=30)
    assert time.monotonic() - started < 15
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert f"cannot reach a Kafka broker at {unused_address}" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("args", [["--role", "nosuch"], [], ["--role", "all", "--timeout-ms", "x"],
                                  ["--role", "all", "--bootstrap-server", "no-port"]])
def test_bad_consumer_usage_exits_2(args):
    result = run_python("consumer.py", *args)
    assert result.returncode == 2
    assert "usage:" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [["--delay", "-1"], ["--delay", "nan"], ["--route-by", "x"]])
def test_bad_producer_usage_exits_2(args):
    result = run_python("producer1.py", *args)
    assert result.returncode == 2
    assert "usage:" in result.stderr and "Traceback" not in result.stderr
