"""The local broker runner: a real Apache Kafka answers, keeps records, and stops cleanly."""

import socket
import subprocess

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaTimeoutError

from irislab.broker import LocalCluster, configs, free_port, free_ports, kraft_cluster_id
from irislab.broker.__main__ import build_parser
from irislab.errors import BrokerError
from tests.lab import live_processes_mentioning, new_topic, run_python


def test_admin_client_creates_a_two_partition_topic(kafka):
    name = new_topic(kafka.bootstrap)
    with KafkaAdminClient(bootstrap_servers=kafka.bootstrap) as admin:
        [topic] = admin.describe_topics([name])
    assert sorted(p["partition_index"] for p in topic["partitions"]) == [0, 1]
    assert all(len(p["replica_nodes"]) == 1 for p in topic["partitions"])


def test_records_come_back_with_their_partition_and_offset(kafka):
    name = new_topic(kafka.bootstrap)
    with KafkaProducer(bootstrap_servers=kafka.bootstrap) as producer:
        futures = [producer.send(name, value=f"r{i}".encode(), partition=i % 2) for i in range(10)]
        producer.flush()
        sent = {f"r{i}": (m.partition, m.offset) for i, m in
                ((i, f.get(timeout=10)) for i, f in enumerate(futures))}
    assert sorted(p for p, _ in sent.values()) == [0] * 5 + [1] * 5

    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap, consumer_timeout_ms=3000)
    consumer.assign([TopicPartition(name, 0), TopicPartition(name, 1)])
    consumer.seek_to_beginning()
    read = {m.value.decode(): (m.partition, m.offset) for m in consumer}
    consumer.close()
    assert read == sent


def test_kcat_lists_the_broker(kafka):
    out = subprocess.run(["kcat", "-b", kafka.bootstrap, "-L"], capture_output=True, text=True,
                         timeout=30).stdout
    assert f"at {kafka.bootstrap}" in out


def test_topics_are_not_created_by_accident(kafka):
    # auto.create.topics.enable=false: sending to a mistyped topic fails, creates nothing
    with KafkaProducer(bootstrap_servers=kafka.bootstrap, max_block_ms=2000) as producer:
        with pytest.raises(KafkaTimeoutError):
            producer.send("no-such-topic", b"lost").get(timeout=5)
    with KafkaAdminClient(bootstrap_servers=kafka.bootstrap) as admin:
        assert "no-such-topic" not in admin.list_topics()


def test_a_second_start_from_the_same_folder_is_refused(kafka):
    with pytest.raises(BrokerError, match="already running"):
        LocalCluster(kafka.mode, free_port(), kafka.home).start()


def test_a_busy_port_is_a_clear_error(kafka, tmp_path):
    result = run_python("-m", "irislab.broker", "start", "--mode", kafka.mode,
                        "--port", kafka.port, "--home", tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"irislab.broker: error: port {kafka.port} on 127.0.0.1 is "
                                     "already in use: stop what listens there or pick another --port")
    assert live_processes_mentioning(str(tmp_path)) == []


def test_cli_start_status_stop_leaves_no_java_process(kafka, tmp_path):
    port = free_port()
    cli = ("-m", "irislab.broker")
    started = run_python(*cli, "start", "--mode", kafka.mode, "--port", port, "--home", tmp_path,
                         timeout=120)
    assert started.returncode == 0, started.stderr
    assert f"({kafka.mode} mode) is up on 127.0.0.1:{port}" in started.stdout
    assert live_processes_mentioning(str(tmp_path))

    status = run_python(*cli, "status", "--home", tmp_path)
    assert status.returncode == 0
    assert status.stdout.startswith("running: Apache Kafka")
    assert f"in {kafka.mode} mode on 127.0.0.1:{port}" in status.stdout

    stopped = run_python(*cli, "stop", "--home", tmp_path)
    assert (stopped.returncode, stopped.stdout) == (0, "stopped\n")
    assert live_processes_mentioning(str(tmp_path)) == []
    status = run_python(*cli, "status", "--home", tmp_path)
    assert status.returncode == 3
    assert status.stdout.startswith("no broker running")


@pytest.mark.parametrize("mode", ["kraft"])  # a busy ZooKeeper port would answer its wait
def test_a_port_taken_between_its_choice_and_the_start_is_named(mode, tmp_path, monkeypatch):
    # another program takes the controller's port after the cluster chose it
    with socket.create_server(("127.0.0.1", 0)) as other:
        taken = other.getsockname()[1]
        monkeypatch.setattr("irislab.broker.cluster.free_port", lambda taken_ports=(): taken)
        cluster = LocalCluster(mode, free_port(), tmp_path)
        with pytest.raises(BrokerError) as error:
            cluster.start(timeout=120)
    first_line = str(error.value).splitlines()[0]
    assert first_line.startswith(f"kafka-1 exited during start-up: 127.0.0.1:{taken} is in use "
                                 "by another program; last lines of ")
    assert cluster.state()[0] == "stopped"
    assert live_processes_mentioning(str(tmp_path)) == []


@pytest.mark.unit
def test_free_ports_are_below_those_the_kernel_hands_out_to_connections():
    # Linux says where its range starts; elsewhere (macOS: 49152) the quiet range is below it
    kernel = configs.EPHEMERAL_RANGE
    low = int(kernel.read_text().split()[0]) if kernel.exists() else 49152
    for _ in range(50):
        first = free_ports(3)
        assert all(configs.QUIET_PORTS.start <= port < low for port in range(first, first + 3))
        assert all(configs.port_is_free(port) for port in range(first, first + 3))


@pytest.mark.unit
def test_a_free_port_is_never_one_already_chosen(monkeypatch):
    first = free_ports(2)
    monkeypatch.setattr(configs, "quiet_ports", lambda: range(first, first + 2))
    assert {free_port(taken={first}) for _ in range(20)} == {first + 1}
    with pytest.raises(BrokerError, match="found no 1 consecutive free ports"):
        free_port(taken={first, first + 1})


@pytest.mark.unit
def test_kraft_cluster_ids_never_look_like_an_option():
    # one in 64 random ids starts with "-"; StorageTool would take it for a flag
    ids = {kraft_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)


@pytest.mark.unit
@pytest.mark.parametrize("command, action, values", [
    ("start", "start", {"mode": "zookeeper", "brokers": 1, "port": 9092, "node": None}),
    ("start --mode kraft --brokers 3 --port 19092", "start",
     {"mode": "kraft", "brokers": 3, "port": 19092}),
    ("start --node 2 --home var/cluster", "start", {"node": 2, "home": "var/cluster"}),
    ("kill --node 2", "kill", {"node": 2, "home": "var/broker"}),
    ("status", "status", {"home": "var/broker"}),
    ("stop --home var/demo", "stop", {"home": "var/demo"}),
])
def test_each_command_line_reaches_its_action_with_the_documented_defaults(command, action,
                                                                            values):
    args = build_parser().parse_args(command.split())
    assert args.action.__name__ == action
    assert {name: str(getattr(args, name)) if name == "home" else getattr(args, name)
            for name in values} == values
