"""The lab on three secured brokers (start --brokers 3 --security sasl-ssl): the brokers
replicate to each other over SASL_SSL as user broker, so every lab partition has three
replicas in sync; the lab runs as users producer and consumer; a broker killed mid-stream
costs nothing, since the others take over its partitions over the same secured listeners."""

from irislab.clientconfig import read_client_config
from irislab.layout import ROLE_PARTITIONS
from tests.lab import (ROLE_SPECIES, assert_each_row_landed_once_where_the_lab_says,
                       assert_role_printed_exactly_its_records, librdkafka_records,
                       properties, run_python, start_python, wait_for)

LAB_PARTITIONS = ROLE_PARTITIONS["all"]


def replicas_in_sync(secured):
    """(topic, partition) -> (replicas, in-sync replicas), as librdkafka logged in as the
    consumer user sees them."""
    from confluent_kafka.admin import AdminClient
    topics = AdminClient(properties(secured.client_file("consumer"))).list_topics(
        timeout=10).topics
    return {(topic, p): (sorted(topics[topic].partitions[p].replicas),
                         sorted(topics[topic].partitions[p].isrs))
            for topic, p in LAB_PARTITIONS if topic in topics}


def wait_until_in_sync(secured):
    """Returns the view that showed it: asked again, another broker might answer, one that
    has not yet heard of topics just created."""
    view = {}

    def in_sync():
        view.clear()
        view.update(replicas_in_sync(secured))
        return all(view.get(tp, (0, []))[1] == [1, 2, 3] for tp in LAB_PARTITIONS)
    wait_for(in_sync, 90, lambda: f"three replicas in sync on every lab partition: {view}")
    return view


def test_the_lab_runs_on_three_secured_brokers_and_survives_a_broker_killed(
        secured_cluster, tmp_path):
    files = {user: secured_cluster.client_file(user) for user in ("admin", "producer", "consumer")}
    assert read_client_config(files["admin"])["bootstrap_servers"].count(",") == 2  # all three
    run_python("-m", "irislab.admin", "--reset", "--client-config", files["admin"], check=True)
    in_sync = wait_until_in_sync(secured_cluster)  # the brokers replicate to each other:
    assert list(in_sync.values()) == [([1, 2, 3], [1, 2, 3])] * 4  # they log in

    producer = start_python("producer1.py", "--client-config", files["producer"],
                            "--delay", "0.02")
    producer.wait_for_line(r"^sent ", count=30)
    run_python("-m", "irislab.broker", "kill", "--node", "2", "--home",
                        secured_cluster.home, check=True)
    out, err = producer.communicate(timeout=180)
    assert producer.returncode == 0, err
    assert out.splitlines()[-1].startswith("delivered 150 of 150 records sent"), out + err

    consumers = {role: start_python("consumer.py", "--role", role, "--timeout-ms", "5000",
                                    "--client-config", files["consumer"],
                                    "--plot-file", tmp_path / "sepal.png")
                 for role in ROLE_SPECIES}
    for role, consumer in consumers.items():
        out, err = consumer.communicate(timeout=90)
        assert consumer.returncode == 0, err
        assert_role_printed_exactly_its_records(role, out, err)
    # every row once where the lab says, read by librdkafka as the consumer user
    assert_each_row_landed_once_where_the_lab_says(properties(files["consumer"]),
                                                   read=librdkafka_records)

    started = run_python("-m", "irislab.broker", "start", "--node", "2", "--home",
                         secured_cluster.home, timeout=180)
    assert started.returncode == 0, started.stderr
    wait_until_in_sync(secured_cluster)  # node 2 logged in again and caught up
