"""The lab on a real three-broker cluster, one per mode: replicated topics, a partition
leader and the controller killed while the lab runs, a killed broker back in every
in-sync set, and a write that too few brokers would hold refused.

What the cluster looks like is read by an independent client (kcat's metadata, kafka-python's
admin client), never by the code under test alone.
"""

import json
import os
import subprocess
import time
from typing import NamedTuple

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.protocol.api_key import ApiKey

from irislab.broker import LocalCluster, free_ports
from irislab.layout import ROLE_PARTITIONS, SPECIES_PARTITION, TOPIC_PARTITIONS
from tests.lab import (MODES, READING_LINE, assert_each_row_landed_once_where_the_lab_says,
                       assert_role_printed_exactly_its_records, kcat_records, run_python,
                       start_python, wait_for)

BROKERS = 3
LAB_PARTITIONS = ROLE_PARTITIONS["all"]
# the longest a new leader or controller may take after a SIGKILL: ZooKeeper notices after its
# 6 s session timeout, a KRaft controller fences a broker after 6 s (broker.session.timeout.ms)
# and elects a new quorum leader after 2 s (controller.quorum.fetch.timeout.ms); measured
# here 5-7 s, the bound leaves room for a loaded machine
FAILOVER_BOUND_S = 30


class Cluster(NamedTuple):
    mode: str
    home: object
    bootstrap: str
    started: str  # what `start` printed

    def broker(self, *args):
        """python -m irislab.broker ARGS --home HOME, as a user runs it."""
        return run_python("-m", "irislab.broker", *args, "--home", self.home, timeout=180)


@pytest.fixture(scope="module", params=MODES)
def cluster(request, tmp_path_factory):
    home = tmp_path_factory.mktemp(f"cluster-{request.param}")
    started = run_python("-m", "irislab.broker", "start", "--brokers", BROKERS, "--mode",
                         request.param, "--port", free_ports(BROKERS), "--home", home, timeout=240)
    assert started.returncode == 0, started.stderr
    yield Cluster(request.param, home, LocalCluster.running_in(home).bootstrap, started.stdout)
    running = LocalCluster.running_in(home)
    assert running.stop()
    if request.param == "kraft":
        # stop stops every node at once: a controlled shutdown could wait for a controller
        # quorum already gone until stop killed the node (server-kraft.properties)
        waited = [node.name for node in running.nodes()
                  if "Beginning controlled shutdown" in node.log_file.read_text(errors="replace")]
        assert not waited, f"controlled shutdown at stop: {', '.join(waited)}"


@pytest.fixture
def healthy(cluster):
    """The cluster with every node up and the lab's topics fresh and fully in sync; and so
    again after the test, whatever it killed."""
    reset = run_python("-m", "irislab.admin", "--reset", "--bootstrap-server", cluster.bootstrap)
    assert reset.returncode == 0, reset.stderr
    wait_until_in_sync(cluster)
    yield cluster
    lab = LocalCluster.running_in(cluster.home)
    if lab.state()[0] != "running":
        lab.start()  # only the dead nodes, on their data
    wait_until_in_sync(cluster)


def metadata(cluster, address=None):
    """kcat's view of the cluster, from any of its brokers (or the one at `address`): broker
    ids, and (topic, partition) -> (leader, replicas, isr)."""
    out = subprocess.run(["kcat", "-b", address or cluster.bootstrap, "-L", "-J"],
                         capture_output=True, text=True, timeout=30).stdout
    meta = json.loads(out)
    partitions = {(t["topic"], p["partition"]): (p["leader"], sorted(r["id"] for r in p["replicas"]),
                                                 sorted(r["id"] for r in p["isrs"]))
                  for t in meta["topics"] for p in t["partitions"]}
    return {b["id"] for b in meta["brokers"]}, partitions


def wait_until_in_sync(cluster):
    """Until every broker says so: one that has not yet heard of topics just created would
    answer a later metadata() without them."""
    def in_sync():
        views = (metadata(cluster, address)[1] for address in cluster.bootstrap.split(","))
        return all(partitions.get(tp, (0, [], []))[2] == list(range(1, BROKERS + 1))
                   for partitions in views for tp in LAB_PARTITIONS)
    wait_for(in_sync, 90, lambda: f"every lab partition to have all three replicas in sync: "
                                  f"{metadata(cluster)[1]}")


def leader_of(cluster, topic, partition):
    return metadata(cluster)[1][topic, partition][0]


def controller(cluster):
    """The controller, asked with kafka-python directly: the KRaft quorum leader, or in
    ZooKeeper mode the broker ZooKeeper elected."""
    with KafkaAdminClient(bootstrap_servers=cluster.bootstrap, request_timeout_ms=5000) as admin:
        for _ in range(5):  # a request sent to a dead broker fails; the next try avoids it
            try:
                if ApiKey.DescribeQuorum not in admin.api_versions():
                    return admin.describe_cluster()["controller_id"]
                quorum = admin.describe_metadata_quorum()["topics"][0]["partitions"][0]
                return quorum["leader_id"]
            except KafkaError:
                time.sleep(0.5)
    return None


def test_start_prints_the_bootstrap_list_and_status_shows_every_node_and_the_controller(cluster):
    assert f"bootstrap list: --bootstrap-server {cluster.bootstrap}" in cluster.started
    assert len(cluster.bootstrap.split(",")) == BROKERS
    brokers, _ = metadata(cluster)
    assert brokers == {1, 2, 3}

    status = cluster.broker("status")
    assert status.returncode == 0, status.stdout + status.stderr
    nodes = [line.split() for line in status.stdout.splitlines() if line.startswith("  kafka")]
    assert [(n[1], n[2], n[5]) for n in nodes] == [
        (str(i), address, "alive") for i, address in enumerate(cluster.bootstrap.split(","), 1)]
    marked = [int(n[1]) for n in nodes if n[-1] == "controller"]
    assert marked == [controller(cluster)]
    assert ("  zookeeper " in status.stdout) == (cluster.mode == "zookeeper")


def test_lab_topics_are_replicated_three_times_with_two_in_sync_required(healthy):
    _, partitions = metadata(healthy)
    for tp in LAB_PARTITIONS:
        leader, replicas, isr = partitions[tp]
        assert replicas == isr == [1, 2, 3], tp
    def min_insync_replicas():
        with KafkaAdminClient(bootstrap_servers=healthy.bootstrap) as admin:
            configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t)
                                              for t in TOPIC_PARTITIONS])["topic"]
        return {t: configs.get(t, {}).get("min.insync.replicas", {}).get("value")
                for t in TOPIC_PARTITIONS}
    # a broker that has not yet heard of a new topic answers for it with no configs
    wait_for(lambda: set(min_insync_replicas().values()) == {"2"}, 30,
             lambda: f"min.insync.replicas=2 on both topics: {min_insync_replicas()}")

    described = run_python("-m", "irislab.admin", "--describe", "--bootstrap-server",
                           healthy.bootstrap)
    assert described.returncode == 0, described.stderr
    for topic, partition in LAB_PARTITIONS:
        leader, replicas, _ = partitions[topic, partition]
        line = next(l for l in described.stdout.splitlines()
                    if l.startswith(f"Topic: {topic}\tPartition: {partition}\t"))
        assert f"Leader: {leader}\t" in line
        assert sorted(map(int, line.split("Replicas: ")[1].split()[0].split(","))) == replicas
        assert sorted(map(int, line.split("Isr: ")[1].split(","))) == [1, 2, 3]
    assert f"Controller: {controller(healthy)} (" in described.stdout


def test_a_partition_leader_killed_mid_stream_loses_and_duplicates_nothing(healthy, tmp_path):
    consumers = {role: start_python("consumer.py", "--role", role, "--bootstrap-server",
                                    healthy.bootstrap, "--timeout-ms", "25000",
                                    "--plot-file", tmp_path / "sepal.png")
                 for role in ("all", "setosa", "virginica")}
    for consumer in consumers.values():
        consumer.wait_for_line(READING_LINE)
    producer = start_python("producer1.py", "--bootstrap-server", healthy.bootstrap,
                            "--delay", "0.05")
    producer.wait_for_line(r"^sent ", count=20)  # a part of the data set is delivered
    topic, partition = SPECIES_PARTITION["virginica"]
    victim = leader_of(healthy, topic, partition)
    assert healthy.broker("kill", "--node", victim).returncode == 0
    killed = time.monotonic()

    out, err = producer.communicate(timeout=240)
    assert producer.returncode == 0, err
    assert out.splitlines()[-1].startswith("delivered 150 of 150 records sent")
    _, partitions = metadata(healthy)
    assert partitions[topic, partition][0] not in (victim, -1)
    assert victim not in partitions[topic, partition][2]
    print(f"{healthy.mode}: new leader within {time.monotonic() - killed:.1f} s of the kill")

    assert_each_row_landed_once_where_the_lab_says(healthy.bootstrap)
    for role, consumer in consumers.items():
        out, err = consumer.communicate(timeout=240)
        assert consumer.returncode == 0, err
        assert_role_printed_exactly_its_records(role, out, err)


def test_a_killed_broker_started_again_rejoins_every_in_sync_set_it_left(healthy):
    victim = leader_of(healthy, "versicolor", 1)
    assert healthy.broker("kill", "--node", victim).returncode == 0
    wait_for(lambda: all(victim not in isr for _, _, isr in
                         (metadata(healthy)[1][tp] for tp in LAB_PARTITIONS)),
             90, f"node {victim} to leave every in-sync set")
    status = healthy.broker("status")
    assert status.returncode == 1
    assert [l.split()[-1] for l in status.stdout.splitlines()
            if l.startswith(f"  kafka {victim} ")] == ["DEAD"]

    started = healthy.broker("start", "--node", victim)
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith(f"node {victim} is up again")
    wait_until_in_sync(healthy)
    assert healthy.broker("status").returncode == 0


def test_a_killed_controller_is_replaced_and_the_cluster_still_takes_topics_and_records(healthy):
    before = controller(healthy)
    assert healthy.broker("kill", "--node", before).returncode == 0
    elapsed = wait_for(lambda: controller(healthy) not in (before, None, -1),
                       FAILOVER_BOUND_S, "a new controller")
    print(f"{healthy.mode}: new controller {controller(healthy)} after {elapsed:.1f} s")
    described = run_python("-m", "irislab.admin", "--describe", "--bootstrap-server",
                           healthy.bootstrap)
    assert f"Controller: {controller(healthy)} (" in described.stdout

    def created():
        # a new client each try: one may first pick the dead broker, and keep it
        try:
            with KafkaAdminClient(bootstrap_servers=healthy.bootstrap,
                                  request_timeout_ms=5000) as admin:
                admin.create_topics({"after-the-controller": {"num_partitions": 2,
                                                              "replication_factor": 2}})
        except TopicAlreadyExistsError:  # an earlier try went through after all
            pass
        except KafkaError:
            return False
        return True
    wait_for(created, 60, "the cluster to create a topic")
    # the brokers learn of a new topic from the controller a moment later
    wait_for(lambda: ("after-the-controller", 1) in metadata(healthy)[1], 30,
             "the new topic in kcat's metadata")
    produced = run_python("producer1.py", "--bootstrap-server", healthy.bootstrap, timeout=180)
    assert produced.returncode == 0, produced.stderr
    assert produced.stdout.splitlines()[-1].startswith("delivered 150 of 150 records sent")


def test_two_brokers_down_the_producer_fails_with_the_cause_and_reports_nothing_false(healthy):
    for node in (2, 3):
        assert healthy.broker("kill", "--node", node).returncode == 0
    started = time.monotonic()
    produced = run_python("producer1.py", "--bootstrap-server", healthy.bootstrap,
                          "--delivery-timeout-ms", "10000", timeout=120)
    elapsed = time.monotonic() - started
    assert produced.returncode == 1
    assert "Traceback" not in produced.stderr
    error = produced.stderr.splitlines()[-1]
    assert error.startswith("producer1.py: error: ")
    assert "records were not delivered" in error
    # ZooKeeper's controller shrinks each in-sync set to the one live broker, which then
    # refuses acks=all writes; in KRaft two of three voters are gone, so there is no controller
    cause = "not enough in-sync replicas" if healthy.mode == "zookeeper" else "no controller"
    assert cause in error
    # a held produce request delays the producer's next metadata request on the same
    # connection, so the worst case is about twice the delivery timeout
    assert elapsed < 2 * 10 + 15

    # nothing the producer reported as delivered is missing once the brokers are back
    reported = [dict(kv.split("=") for kv in line.split()[1:])
                for line in produced.stdout.splitlines() if line.startswith("sent ")]
    summary = produced.stdout.splitlines()[-1]
    assert summary.startswith(f"delivered {len(reported)} of 150 records sent")
    LocalCluster.running_in(healthy.home).start()
    wait_until_in_sync(healthy)
    for r in reported:
        records = {offset: value for offset, _, value in
                   kcat_records(healthy.bootstrap, r["topic"], int(r["partition"]))}
        assert records[int(r["offset"])]["id"] == int(r["id"])


@pytest.mark.parametrize("args", [["kill"], ["kill", "--node", "7"], ["start", "--node", "9"]])
def test_a_node_that_is_not_there_is_a_one_line_error(cluster, args):
    result = cluster.broker(*args)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("irislab.broker: ")


@pytest.mark.parametrize("command", [["consumer.py", "--role", "virginica"], ["producer1.py"],
                                     ["-m", "irislab.admin"]])
def test_every_command_takes_the_bootstrap_list(cluster, command):
    if command[0] == "producer1.py":
        reset = run_python("-m", "irislab.admin", "--reset", "--bootstrap-server", cluster.bootstrap)
        assert reset.returncode == 0, reset.stderr
    args = [*command, "--exit-at-end"] if command[0] == "consumer.py" else command
    result = run_python(*args, timeout=120,
                        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("bootstrap", ["127.0.0.1:9092,", "127.0.0.1:9092,localhost",
                                       "127.0.0.1:9092;127.0.0.1:9093"])
def test_a_malformed_bootstrap_list_is_bad_usage(bootstrap):
    result = run_python("consumer.py", "--role", "all", "--bootstrap-server", bootstrap)
    assert result.returncode == 2
    assert "is not HOST:PORT or a comma-separated list of them" in result.stderr
