"""docker-compose.yml agrees with the lab: the layout's topics, one replica, localhost:9092,
and the same Kafka versions as the local broker's POMs.

No containers run here: the file is read with PyYAML and compared with irislab.layout
and irislab.broker.kafka_version, so a drift in either place fails a test.
"""

import re
import shlex
from pathlib import Path

import pytest
import yaml

from irislab.broker import kafka_version
from irislab.layout import REPLICATION_FACTOR, TOPIC_PARTITIONS

COMPOSE_FILE = Path(__file__).resolve().parent.parent / "docker-compose.yml"

# mode -> (broker service, its topics service)
BROKERS = {"zookeeper": ("kafka", "topics"), "kraft": ("kafka-kraft", "topics-kraft")}
KRAFT_ONLY = ("kafka-kraft", "topics-kraft")

# Confluent Platform release line -> the Apache Kafka release line it ships
# (https://docs.confluent.io/platform/current/installation/versions-interoperability.html)
CONFLUENT_TO_APACHE = {"7.9": "3.9"}


@pytest.fixture
def compose():
    return yaml.safe_load(COMPOSE_FILE.read_text())


# --- reading the file


def environment(service):
    """A service's environment as {NAME: "value"} (mapping or list form)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {name: value if isinstance(value, str) else str(value) for name, value in env.items()}


def published_ports(service):
    """The host ports a service publishes, as ints."""
    ports = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ports.add(int(port["published"]))
        else:
            ports.add(int(str(port).rsplit(":", 2)[-2]))  # [ip:]host:container
    return ports


def advertised_addresses(service):
    """{listener name: "host:port"} from KAFKA_ADVERTISED_LISTENERS."""
    listeners = environment(service)["KAFKA_ADVERTISED_LISTENERS"]
    return dict(item.split("://", 1) for item in listeners.split(","))


def image_tag(service):
    name, tag = service["image"].rsplit(":", 1)
    return name, tag


def command_lines(service):
    """The shell commands a one-shot service runs, each split into words."""
    command = service["command"]
    script = command[-1] if isinstance(command, list) else command
    script = script.replace("\\\n", " ")
    return [shlex.split(part) for part in re.split(r"\n|&&|;", script) if part.strip()]


def created_topics(service):
    """[(topic, partitions, replication factor, bootstrap server)] the service creates."""
    created = []
    for words in command_lines(service):
        if not Path(words[0]).name.startswith("kafka-topics") or "--create" not in words:
            continue
        option = {words[i]: words[i + 1] for i in range(len(words) - 1)
                  if words[i].startswith("--")}
        created.append((option["--topic"], int(option["--partitions"]),
                        int(option["--replication-factor"]), option["--bootstrap-server"]))
    return created


# --- the services


def test_the_zookeeper_setup_has_zookeeper_a_broker_and_a_topics_service(compose):
    for name in ("zookeeper", "kafka", "topics"):
        assert name in compose["services"], f"no {name} service"
        assert not compose["services"][name].get("profiles"), \
            f"{name} must start with a plain `docker compose up`"


def test_the_kraft_broker_and_its_topics_service_are_only_in_the_kraft_profile(compose):
    for name in KRAFT_ONLY:
        assert compose["services"][name].get("profiles") == ["kraft"]
    for name, service in compose["services"].items():
        if name not in KRAFT_ONLY:
            assert "kraft" not in service.get("profiles", []), name


# --- where the producer and consumers find the broker


@pytest.mark.parametrize("mode", BROKERS)
def test_each_broker_publishes_and_advertises_localhost_9092(compose, mode):
    broker = compose["services"][BROKERS[mode][0]]
    assert 9092 in published_ports(broker)
    assert "localhost:9092" in advertised_addresses(broker).values()


def test_zookeeper_publishes_2181_and_the_broker_uses_it(compose):
    assert 2181 in published_ports(compose["services"]["zookeeper"])
    assert environment(compose["services"]["kafka"])["KAFKA_ZOOKEEPER_CONNECT"] == "zookeeper:2181"


@pytest.mark.parametrize("mode", BROKERS)
def test_each_topics_service_waits_for_a_healthy_broker_and_uses_its_internal_listener(
        compose, mode):
    broker_name, topics_name = BROKERS[mode]
    broker, topics = compose["services"][broker_name], compose["services"][topics_name]
    assert broker.get("healthcheck", {}).get("test"), f"{broker_name} has no healthcheck"
    assert topics["depends_on"][broker_name]["condition"] == "service_healthy"
    internal = {address for address in advertised_addresses(broker).values()
                if not address.startswith("localhost:")}
    for topic, _, _, bootstrap in created_topics(topics):
        assert bootstrap in internal, f"{topics_name} creates {topic} through {bootstrap}"


# --- broker settings


@pytest.mark.parametrize("mode", BROKERS)
def test_each_broker_refuses_to_auto_create_topics(compose, mode):
    env = environment(compose["services"][BROKERS[mode][0]])
    assert env.get("KAFKA_AUTO_CREATE_TOPICS_ENABLE") == "false"


@pytest.mark.parametrize("mode", BROKERS)
def test_each_broker_keeps_one_replica_of_its_internal_topics(compose, mode):
    env = environment(compose["services"][BROKERS[mode][0]])
    for name in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
                 "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"):
        assert name in env, f"{name} is not set"
    for name, value in env.items():
        if name.endswith("_REPLICATION_FACTOR"):
            assert int(value) == REPLICATION_FACTOR, name
        if name.endswith("_MIN_ISR"):
            assert int(value) <= REPLICATION_FACTOR, name


@pytest.mark.parametrize("mode", BROKERS)
def test_each_broker_hands_out_partitions_without_a_rebalance_delay(compose, mode):
    env = environment(compose["services"][BROKERS[mode][0]])
    assert env.get("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS") == "0"


def test_the_kraft_broker_is_its_own_controller(compose):
    env = environment(compose["services"]["kafka-kraft"])
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    voters = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
    assert [voter.split("@")[0] for voter in voters] == [env["KAFKA_NODE_ID"]]


# --- topics


@pytest.mark.parametrize("mode", BROKERS)
def test_each_topics_service_creates_exactly_the_layouts_topics(compose, mode):
    created = created_topics(compose["services"][BROKERS[mode][1]])
    assert sorted(topic for topic, *_ in created) == sorted(TOPIC_PARTITIONS)
    for topic, partitions, replicas, _ in created:
        assert partitions == TOPIC_PARTITIONS[topic], f"{topic} partitions"
        assert replicas == REPLICATION_FACTOR, f"{topic} replication factor"


# --- versions


def test_the_confluent_images_ship_the_kafka_of_the_zookeeper_pom(compose):
    services = compose["services"]
    tags = {image_tag(services[name]) for name in ("zookeeper", "kafka", "topics")}
    assert tags == {("confluentinc/cp-zookeeper", image_tag(services["kafka"])[1]),
                    ("confluentinc/cp-kafka", image_tag(services["kafka"])[1])}
    confluent_line = ".".join(image_tag(services["kafka"])[1].split(".")[:2])
    assert confluent_line in CONFLUENT_TO_APACHE, f"unknown Confluent line {confluent_line}"
    assert kafka_version("zookeeper").startswith(CONFLUENT_TO_APACHE[confluent_line] + ".")


def test_the_apache_image_tag_is_the_kafka_of_the_kraft_pom(compose):
    for name in KRAFT_ONLY:
        assert image_tag(compose["services"][name]) == ("apache/kafka", kafka_version("kraft"))
