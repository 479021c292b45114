"""Nothing lost, nothing crashes: a broker killed and restarted, Ctrl-C, bad configuration,
a crashed runner. These tests kill brokers, so they use one of their own per mode."""

import signal
import socket
import subprocess
import threading
import time

import pytest
from kafka.net import manager as kafka_net_manager

from irislab import admin
from irislab.broker import LocalCluster, free_port
from tests.lab import (MODES, READING_LINE, SPECIES, error_lines, kcat_records,
                       lab_partitions_led, landed, produce, reset_topics, run_python,
                       start_consumer, start_producer, wait_for)


@pytest.fixture(scope="module", params=MODES)
def own_broker(request, tmp_path_factory):
    broker = LocalCluster(request.param, free_port(), tmp_path_factory.mktemp("own")).start()
    yield broker
    broker.stop()


def test_a_broker_killed_and_restarted_mid_stream_loses_and_duplicates_nothing(own_broker):
    reset_topics(own_broker.bootstrap)
    consumer = start_consumer(own_broker.bootstrap, "all", "--timeout-ms", "30000",
                              "--plot-file", own_broker.home / "plot.png")
    consumer.wait_for_line(READING_LINE)
    producer = start_producer(own_broker.bootstrap, "--delay", "0.05")
    producer.wait_for_line(r"^sent ", count=20)  # part of the data set is delivered
    own_broker.kill()
    time.sleep(1)  # down for a moment while the producer goes on sending
    own_broker.start()  # same port, same data folder

    out, err = producer.communicate(timeout=180)
    assert producer.returncode == 0, err
    assert out.splitlines()[-1].startswith("delivered 150 of 150 records sent")
    where = landed(own_broker.bootstrap)
    assert sorted(where) == list(range(150))
    assert [i for i, copies in where.items() if len(copies) != 1] == []  # no duplicates

    out, err = consumer.communicate(timeout=180)
    assert consumer.returncode == 0, err
    ids = [int(line.split(" id=")[1].split()[0]) for line in out.splitlines()
           if line.startswith("topic=")]
    assert sorted(ids) == list(range(150))
    assert out.splitlines()[-1] == "read 150 records, skipped 0 malformed"


def test_a_consumer_that_loses_the_broker_says_its_output_is_incomplete(own_broker):
    produce(own_broker.bootstrap, "--reset-topics")
    consumer = start_consumer(own_broker.bootstrap, "virginica", "--timeout-ms", "4000")
    consumer.wait_for_line(r"^topic=")  # it is reading
    own_broker.kill()
    try:
        out, err = consumer.communicate(timeout=60)
    finally:
        own_broker.start()
    assert consumer.returncode == 1
    assert "(INCOMPLETE)" in out.splitlines()[-1]
    assert err.splitlines()[-1].startswith("consumer.py: error: the output above is incomplete")
    assert "Traceback" not in err


def test_a_broker_gone_before_versicolor_is_reached_is_reported_at_the_delivery_timeout(
        own_broker):
    """The producer asked for both topics' partitions before its first record: it goes on
    sending to versicolor with the broker down, and says what was not delivered once the
    delivery timeout is up, instead of waiting a minute for the topic and stopping there."""
    reset_topics(own_broker.bootstrap)
    producer = start_producer(own_broker.bootstrap, "--delay", "0.02",
                              "--delivery-timeout-ms", "5000")
    producer.wait_for_line(r"^sent ", count=20)  # setosa: virginicasetosa only, so far
    own_broker.kill()
    try:
        out, err = producer.communicate(timeout=45)
    finally:
        own_broker.start()
    assert producer.returncode == 1 and "Traceback" not in err, err
    delivered = [int(line.split(" id=")[1].split()[0]) for line in out.splitlines()
                 if line.startswith("sent ")]
    assert 20 <= len(delivered) < 50 and max(delivered) < 50  # no versicolor got through
    assert out.splitlines()[-1] == f"delivered {len(delivered)} of 150 records sent"
    assert err.splitlines()[-1].startswith(f"producer1.py: error: {150 - len(delivered)} of "
                                           "150 records were not delivered")
    wait_for(lambda: lab_partitions_led(own_broker.bootstrap), 90,
             "the restarted broker to lead the lab's partitions again")
    where = landed(own_broker.bootstrap)  # nothing delivered is lost, nothing doubled
    assert set(delivered) <= set(where)
    assert [i for i, copies in where.items() if len(copies) != 1] == []


def test_status_reports_a_crash_start_recovers_and_stop_is_safe_to_repeat(own_broker):
    cli = ("-m", "irislab.broker")
    own_broker.kill()  # returns once the process is gone
    status = run_python(*cli, "status", "--home", own_broker.home)
    assert status.returncode == 1 and status.stdout.startswith("crashed:")
    assert "kafka 1" in status.stdout and "DEAD" in status.stdout
    own_broker.start()  # stale pid files and survivors are cleaned up first
    status = run_python(*cli, "status", "--home", own_broker.home)
    assert status.returncode == 0 and status.stdout.startswith("running:")
    assert subprocess.run(["kcat", "-b", own_broker.bootstrap, "-L"], capture_output=True,
                          timeout=30).returncode == 0
    assert own_broker.stop() is True
    assert own_broker.stop() is False
    stopped = run_python(*cli, "stop", "--home", own_broker.home)
    assert stopped.returncode == 0 and stopped.stdout.startswith("no broker was running")
    own_broker.start()


def test_ctrl_c_in_the_producer_flushes_and_reports_what_was_delivered(kafka):
    reset_topics(kafka.bootstrap)
    producer = start_producer(kafka.bootstrap, "--delay", "0.1")
    producer.wait_for_line(r"^sent ", count=10)  # 10 delivered, 140 still to send
    producer.send_signal(signal.SIGINT)
    out, err = producer.communicate(timeout=60)
    assert producer.returncode == 130
    assert "Traceback" not in err
    sent = int(err.split("interrupted after sending ")[1].split()[0])
    assert 0 < sent < 150
    assert out.splitlines()[-1].startswith(f"delivered {sent} of {sent} records sent")
    on_broker = sum(len(kcat_records(kafka.bootstrap, t, p))
                    for t in ("virginicasetosa", "versicolor") for p in (0, 1))
    assert on_broker == sent


@pytest.mark.parametrize("role", ["all", "setosa"])
def test_ctrl_c_in_a_consumer_still_shows_what_it_read(kafka, role, tmp_path):
    produce(kafka.bootstrap, "--reset-topics")
    plot = tmp_path / "plot.png"
    consumer = start_consumer(kafka.bootstrap, role, "--timeout-ms", "60000", "--plot-file", plot)
    # everything is read (a line each, or a table row each); it would wait a minute for more
    consumer.wait_for_line(r"^topic=" if role == "all" else r" setosa$",
                           count=150 if role == "all" else 50)
    consumer.send_signal(signal.SIGINT)
    out, err = consumer.communicate(timeout=30)
    assert consumer.returncode == 130
    assert "Traceback" not in err
    expected = 150 if role == "all" else 50
    assert out.splitlines()[-1].startswith(f"read {expected} records")
    if role == "all":
        assert plot.stat().st_size > 10_000
    else:
        table = [line for line in out.splitlines() if line.endswith(" setosa")]
        assert len(table) == 50 and sorted(int(row.split()[3]) for row in table) == \
            [i for i, s in enumerate(SPECIES) if s == "setosa"]


@pytest.fixture
def not_kafka():
    """A port where something that is not Kafka answers (it sends an HTTP error)."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    server.close()


@pytest.mark.parametrize("address,message", [
    ("not_kafka", "cannot reach a Kafka broker at {address}"),
    ("nosuch.invalid:9092", "cannot resolve the broker's host name 'nosuch.invalid'"),
])
@pytest.mark.parametrize("command", [["producer1.py"], ["consumer.py", "--role", "all"]])
def test_a_wrong_address_is_a_one_line_error(request, command, address, message):
    if address == "not_kafka":
        address = request.getfixturevalue("not_kafka")
    started = time.monotonic()
    result = run_python(*command, "--bootstrap-server", address, timeout=30)
    assert time.monotonic() - started < 15
    assert result.returncode == 1
    assert len(error_lines(result.stderr)) == 1
    assert message.format(address=address) in error_lines(result.stderr)[0]



def test_a_bootstrap_list_whose_first_brokers_are_down_reaches_the_live_one(kafka, monkeypatch):
    """kafka-python bootstraps from a broker of the list picked at random, and waits out the
    reconnect backoff of a dead one each time it picks it again: on a cluster with two of
    three brokers down, a command could miss the live one for its 8 s. Here it is made to
    pick the first of the list every time, as it may by chance."""
    monkeypatch.setattr(kafka_net_manager.random, "choice", lambda brokers: brokers[0])
    dead = [f"127.0.0.1:{free_port()}" for _ in range(2)]
    with admin.connect(",".join([*dead, kafka.bootstrap])) as client:
        assert [b["port"] for b in client.describe_cluster()["brokers"]] == [kafka.port]
