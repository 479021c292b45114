"""The lab, step by step, on a real broker: create the topics, run the three consumers and
the producer (in either order), then check what landed where, read back by kcat, and what
each consumer printed and drew."""

import re
import subprocess
import time
import uuid

import pytest
from kafka import KafkaAdminClient
from kafka.errors import TopicAlreadyExistsError

from tests.lab import (BEFORE_THE_PRODUCER_MS, COLOURS, EXPECTED_HOME, IRIS, READING_LINE,
                       ROLE_SPECIES, SPECIES, WAITING_LINE,
                       assert_each_row_landed_once_where_the_lab_says,
                       assert_role_printed_exactly_its_records, colour_columns, colour_pixels,
                       consume, kcat_records, landed, produce, reset_topics, run_python,
                       start_consumer, start_python, wait_for)


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


def lab_consumer(kafka, role, tmp_path, timeout_ms=BEFORE_THE_PRODUCER_MS):
    return start_consumer(kafka.bootstrap, role, "--timeout-ms", timeout_ms,
                          "--plot-file", tmp_path / "sepal.png")


def test_consumers_first_then_producer_as_in_the_lab(kafka, tmp_path):
    reset_topics(kafka.bootstrap)
    consumers = {role: lab_consumer(kafka, role, tmp_path) for role in ROLE_SPECIES}
    for consumer in consumers.values():  # the lab's order: all three read before the producer
        consumer.wait_for_line(READING_LINE)
    produce(kafka.bootstrap)
    for role, consumer in consumers.items():
        out, err = consumer.communicate(timeout=60)
        assert consumer.returncode == 0, err
        assert_role_printed_exactly_its_records(role, out, err)
    assert_each_row_landed_once_where_the_lab_says(kafka.bootstrap)
    assert all(n > 200 for n in colour_pixels(tmp_path / "sepal.png").values())
    # each species in its own colour: setosa's sepals are the shortest (blue points to the
    # left), then versicolor's (green), then virginica's (red), as in the data set
    columns = colour_columns(tmp_path / "sepal.png")
    mean_length = {s: IRIS.data[[i for i in range(150) if SPECIES[i] == s], 0].mean()
                   for s in COLOURS}
    assert sorted(columns, key=columns.get) == sorted(mean_length, key=mean_length.get)


def test_producer_first_then_consumers_replay_from_the_beginning(kafka, tmp_path):
    result = produce(kafka.bootstrap, "--reset-topics")
    assert result.stdout.splitlines()[-1] == (
        "delivered 150 of 150 records sent (versicolor[0] 25, versicolor[1] 25, "
        "virginicasetosa[0] 50, virginicasetosa[1] 50)")
    assert len([line for line in result.stdout.splitlines() if line.startswith("sent ")]) == 150
    assert_each_row_landed_once_where_the_lab_says(kafka.bootstrap)
    for role in ROLE_SPECIES:
        consumer = lab_consumer(kafka, role, tmp_path, timeout_ms=3000)
        out, err = consumer.communicate(timeout=60)
        assert consumer.returncode == 0, err
        assert_role_printed_exactly_its_records(role, out, err)


def test_the_plot_shows_each_species_in_its_colour(kafka, tmp_path):
    # with no versicolor records, no green may appear
    produce(kafka.bootstrap, "--reset-topics")
    delete_topics(kafka, ["versicolor"])
    consumer = lab_consumer(kafka, "all", tmp_path, timeout_ms=3000)
    out, err = consumer.communicate(timeout=60)
    assert consumer.returncode == 0, err
    pixels = colour_pixels(tmp_path / "sepal.png")
    assert pixels["setosa"] > 200 and pixels["virginica"] > 200
    assert pixels["versicolor"] < 20
    assert "saved the sepal plot of 100 records" in out


def test_route_by_prediction_sends_each_record_where_the_model_says(kafka):
    result = produce(kafka.bootstrap, "--reset-topics", "--route-by", "prediction")
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
    produce(kafka.bootstrap, "--reset-topics", "--csv", csv)
    assert_each_row_landed_once_where_the_lab_says(kafka.bootstrap)


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
    produce(kafka.bootstrap, "--reset-topics")  # leave the layout right for the next test


@pytest.mark.parametrize("command", [
    ["producer1.py"], ["consumer.py", "--role", "all"], ["consumer.py", "--role", "setosa"],
    ["consumer.py", "--role", "virginica"], ["-m", "irislab.admin"],
    ["-m", "irislab.admin", "--groups"], ["-m", "irislab.admin", "--groups", "lab", "--watch"]])
def test_no_broker_is_a_one_line_error_naming_the_address(command, unused_address):
    started = time.monotonic()
    script = start_python(*command, "--bootstrap-server", unused_address)
    # it says that it is trying, and where, while it still tries: not a silent wait
    wait_for(lambda: WAITING_LINE.fullmatch(script.err.partition("\n")[0]), 30,
             lambda: f"the line saying it is trying to reach {unused_address}: {script.err!r}")
    assert script.poll() is None and unused_address in script.err
    out, err = script.communicate(timeout=30)
    assert time.monotonic() - started < 15
    assert script.returncode == 1
    assert len(err.splitlines()) == 2
    assert f"cannot reach a Kafka broker at {unused_address}" in err.splitlines()[1]
    assert "Traceback" not in err + out


def test_a_group_rerun_that_reads_nothing_keeps_the_plot(kafka, tmp_path):
    reset_topics(kafka.bootstrap)
    produce(kafka.bootstrap)
    plot, group = tmp_path / "sepal.png", f"keep-{uuid.uuid4().hex[:8]}"
    first = consume(kafka.bootstrap, "all", "--group", group, "--exit-at-end", "--plot-file", plot)
    assert f"saved the sepal plot of 150 records to {plot}" in first.stdout.splitlines()
    drawn = plot.read_bytes()
    # the group has read everything: the rerun reads nothing and leaves the plot as it was
    rerun = consume(kafka.bootstrap, "all", "--group", group, "--exit-at-end", "--plot-file", plot)
    assert rerun.stdout.splitlines()[-2:] == [
        f"no records to plot: kept the plot there ({plot})", "read 0 records, skipped 0 malformed"]
    assert plot.read_bytes() == drawn
    assert all(n > 200 for n in colour_pixels(plot).values())
    # and where there is no plot yet, it draws no empty one
    elsewhere = tmp_path / "none.png"
    rerun = consume(kafka.bootstrap, "all", "--group", group, "--exit-at-end",
                    "--plot-file", elsewhere)
    assert f"no records to plot: saved none ({elsewhere})" in rerun.stdout.splitlines()
    assert not elsewhere.exists()
